package delivery

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"text/template"
	"time"
)

// defaults are the embedded templates: English, and German to show how a
// language is added.
//
//go:embed templates
var defaults embed.FS

// The templates a locale may have, as files named NAME.tmpl: the email's
// subject, text part and HTML part, and the SMS.
const (
	emailSubject = "email.subject"
	emailText    = "email.txt"
	emailHTML    = "email.html"
	smsText      = "sms.txt"
)

// DefaultLocale is the locale every lookup falls back on.
const DefaultLocale = "en"

// Templates write messages per purpose and locale. A template lives at
// LOCALE/NAME.tmpl, or LOCALE/PURPOSE/NAME.tmpl for one purpose; a lookup
// tries the purpose's, then the locale's, for the locale, its language
// (de for de-CH) and then English. Their data is Code, Minutes (left,
// rounded up), Issuer and Purpose.
type Templates struct {
	issuer string
	now    func() time.Time
	text   map[string]*template.Template
	html   map[string]*htmltemplate.Template
}

// Data is what a template is given.
type Data struct {
	Code    string
	Minutes int
	Issuer  string
	Purpose string
}

// LoadTemplates parses the embedded templates and, over them, those of dir
// (none when empty) laid out the same way. Any template that does not
// parse is an error: the service does not start.
func LoadTemplates(dir, issuer string, now func() time.Time) (*Templates, error) {
	t := &Templates{issuer: issuer, now: now, text: map[string]*template.Template{}, html: map[string]*htmltemplate.Template{}}
	root, err := fs.Sub(defaults, "templates")
	if err != nil {
		return nil, err
	}
	if err := t.load(root, "embedded"); err != nil {
		return nil, err
	}
	if dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("TEMPLATES_DIR: %w", err)
		}
		if err := t.load(os.DirFS(dir), dir); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{emailSubject, emailText, emailHTML, smsText} {
		if _, ok := t.lookup(DefaultLocale, "", name); !ok {
			return nil, fmt.Errorf("templates: no %s/%s.tmpl", DefaultLocale, name)
		}
	}
	return t, nil
}

func (t *Templates) load(fsys fs.FS, where string) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		key := strings.TrimSuffix(p, ".tmpl")
		if strings.HasSuffix(key, ".html") {
			tm, err := htmltemplate.New(key).Option("missingkey=error").Parse(string(src))
			if err != nil {
				return fmt.Errorf("template %s in %s: %w", p, where, err)
			}
			t.html[key] = tm
			return nil
		}
		tm, err := template.New(key).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s in %s: %w", p, where, err)
		}
		t.text[key] = tm
		return nil
	})
}

// candidates are the keys a lookup tries, most specific first.
func candidates(locale, purpose, name string) []string {
	locales := []string{}
	for _, l := range []string{locale, strings.SplitN(locale, "-", 2)[0], DefaultLocale} {
		if l != "" && !slices.Contains(locales, l) {
			locales = append(locales, l)
		}
	}
	var keys []string
	for _, l := range locales {
		if purpose != "" && !strings.ContainsAny(purpose, "/.") {
			keys = append(keys, path.Join(l, purpose, name))
		}
		keys = append(keys, path.Join(l, name))
	}
	return keys
}

func (t *Templates) lookup(locale, purpose, name string) (string, bool) {
	for _, k := range candidates(locale, purpose, name) {
		if _, ok := t.text[k]; ok {
			return k, true
		}
		if _, ok := t.html[k]; ok {
			return k, true
		}
	}
	return "", false
}

func (t *Templates) data(m Message) Data {
	minutes := int((m.ExpiresAt.Sub(t.now()) + time.Minute - 1) / time.Minute)
	return Data{Code: m.Code, Minutes: max(minutes, 1), Issuer: t.issuer, Purpose: m.Purpose}
}

// errTemplate hides what a template failed with: its text may hold the code.
var errTemplate = errors.New("a template failed to execute; check TEMPLATES_DIR")

func (t *Templates) execText(m Message, name string) (string, error) {
	k, _ := t.lookup(m.Locale, m.Purpose, name)
	var b bytes.Buffer
	if tm, ok := t.text[k]; !ok || tm.Execute(&b, t.data(m)) != nil {
		return "", errTemplate
	}
	return strings.TrimSpace(b.String()), nil
}

// EmailText is an email's subject and parts.
type EmailText struct{ Subject, Text, HTML string }

// Email writes m as an email.
func (t *Templates) Email(m Message) (EmailText, error) {
	subject, err := t.execText(m, emailSubject)
	if err != nil {
		return EmailText{}, err
	}
	// A subject is one header line, whatever a template wrote.
	subject = strings.Join(strings.Fields(subject), " ")
	text, err := t.execText(m, emailText)
	if err != nil {
		return EmailText{}, err
	}
	k, _ := t.lookup(m.Locale, m.Purpose, emailHTML)
	var html bytes.Buffer
	if tm, ok := t.html[k]; !ok || tm.Execute(&html, t.data(m)) != nil {
		return EmailText{}, errTemplate
	}
	return EmailText{Subject: subject, Text: text, HTML: html.String()}, nil
}

// SMS writes m as an SMS.
func (t *Templates) SMS(m Message) (string, error) { return t.execText(m, smsText) }
