// Package delivery sends challenge codes: email over SMTP (go-mail), SMS
// through Twilio's Messages API (or a gateway that speaks it), or a signed
// webhook for any other gateway. Each channel is started only when
// configured. Destinations are checked before anything is sent: one email
// address that cannot become a header, or a valid E.164 number in an
// allowed country. Failures are told apart: a provider that refuses
// (ErrRefused, 502) is not retried; one that cannot be reached is retried
// with backoff until the deadline (ErrUnreachable, 503). Nothing here logs
// a code or a full destination.
package delivery

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
)

// Channel is how a code travels.
type Channel string

// The channels.
const (
	Email   Channel = "email"
	SMS     Channel = "sms"
	Webhook Channel = "webhook"
)

// Channels lists them, in the order the API names them.
var Channels = []Channel{Email, SMS, Webhook}

// Message is one code to deliver.
type Message struct {
	Channel   Channel
	To        string // an address, or an E.164 number
	Code      string
	Purpose   string
	Locale    string
	ExpiresAt time.Time
}

// Receipt is what a provider said of a message it took.
type Receipt struct {
	// ID is the provider's ID of the message: the Message-ID of an email,
	// Twilio's sid, a webhook's own.
	ID string
}

// A Sender delivers messages of one channel. Send returns ErrRefused when
// the provider refused the message and ErrUnreachable when it could not be
// reached, and never an error that quotes the code or the destination.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Errors of this package.
var (
	// ErrRefused means the provider refused the message (an invalid
	// number, a rejected recipient); its Explain names the provider's code.
	ErrRefused = fault.New(fault.Upstream, api.CodeDeliveryFailed, "", "the provider refused the message")
	// ErrUnreachable means the provider could not be reached in time.
	ErrUnreachable = fault.New(fault.Unavailable, api.CodeDeliveryUnavailable, "",
		"the provider could not be reached in time; nothing was sent, retry shortly")
	// ErrNotConfigured means the channel asked for is not configured.
	ErrNotConfigured = fault.New(fault.NotConfigured, api.CodeDeliveryNotConfigured, "channel",
		"names a channel this instance was not configured for (SMTP_URL, TWILIO_*, DELIVERY_WEBHOOK_URL)")
	// ErrUnknownChannel means a channel that does not exist.
	ErrUnknownChannel = fault.New(fault.Invalid, api.CodeInvalidParameter, "channel", "must be email, sms or webhook")
	// ErrInvalidEmail means a subject that is not one plain address.
	ErrInvalidEmail = fault.New(fault.Invalid, api.CodeInvalidParameter, "subject",
		"must be one email address, such as alice@example.com, with no name, comment or line break")
	// ErrInvalidPhone means a subject that is not a valid E.164 number.
	ErrInvalidPhone = fault.New(fault.Invalid, api.CodeInvalidParameter, "subject",
		"must be a valid phone number in E.164 form, such as +447911123456")
	// ErrCountry means a number in a country SMS_COUNTRIES does not allow.
	ErrCountry = fault.New(fault.Invalid, api.CodeInvalidParameter, "subject",
		"is a number in a country this instance does not send codes to (SMS_COUNTRIES)")
	// ErrInvalidLocale means a locale that is not a short language tag.
	ErrInvalidLocale = fault.New(fault.Invalid, api.CodeInvalidParameter, "locale", "must be a language tag such as en or de-CH, at most 16 bytes")
)

// ParseChannel reads a channel's name.
func ParseChannel(name string) (Channel, error) {
	if c := Channel(name); slices.Contains(Channels, c) {
		return c, nil
	}
	return "", ErrUnknownChannel
}

// Destination is where a code to subject goes on channel, written as the
// channel takes it: an email address as given, once it parses as exactly
// one plain address; a number in E.164, once phonenumbers takes it as
// valid and its country is in countries (none: any). A webhook takes
// the subject as it is.
func Destination(channel Channel, subject string, countries []string) (string, error) {
	switch channel {
	case Email:
		// Exactly one bare address: net/mail parses "a@b.c, d@e.f" as an
		// error and "Eve <a@b.c>" as a name, and either could smuggle a
		// second recipient or a header past a looser check.
		addr, err := mail.ParseAddress(subject)
		if err != nil || addr.Name != "" || addr.Address != subject || strings.ContainsAny(subject, "\r\n<>,;\"() ") {
			return "", ErrInvalidEmail
		}
		return subject, nil
	case SMS:
		if !strings.HasPrefix(subject, "+") || strings.ContainsAny(subject, "\r\n") {
			return "", ErrInvalidPhone
		}
		num, err := phonenumbers.Parse(subject, "")
		if err != nil || !phonenumbers.IsValidNumber(num) {
			return "", ErrInvalidPhone
		}
		if len(countries) > 0 && !slices.Contains(countries, phonenumbers.GetRegionCodeForNumber(num)) {
			return "", ErrCountry
		}
		return phonenumbers.Format(num, phonenumbers.E164), nil
	case Webhook:
		if strings.ContainsAny(subject, "\r\n") {
			return "", fault.New(fault.Invalid, api.CodeInvalidParameter, "subject", "must not hold a line break")
		}
		return subject, nil
	}
	return "", ErrUnknownChannel
}

// Prefix is the block of destinations to belongs to, for the limits
// against SMS pumping: an E.164 number without its last three digits (a
// thousand numbers); "" for the other channels, whose destinations share
// no such ranges.
func Prefix(channel Channel, to string) string {
	if channel != SMS || len(to) < 8 {
		return ""
	}
	return to[:len(to)-3]
}

// CheckLocale accepts an empty locale (the default) or a short language
// tag of letters, digits and hyphens.
func CheckLocale(locale string) error {
	if len(locale) > 16 || strings.Trim(locale, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return ErrInvalidLocale
	}
	return nil
}

// Mask is to as logs and answers show it: an address's first character
// and domain (a***@example.com), a number's country code, first digit and
// last three (+44 7*** ***012).
func Mask(channel Channel, to string) string {
	switch channel {
	case Email:
		local, domain, ok := strings.Cut(to, "@")
		if !ok || local == "" {
			return "***"
		}
		return local[:1] + "***@" + domain
	case SMS:
		num, err := phonenumbers.Parse(to, "")
		if err != nil {
			return "***"
		}
		intl := phonenumbers.Format(num, phonenumbers.INTERNATIONAL) // +44 7911 123012
		cc, national, ok := strings.Cut(intl, " ")
		if !ok {
			return "***"
		}
		digits := 0
		for _, r := range national {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		var b strings.Builder
		b.WriteString(cc + " ")
		seen := 0
		for _, r := range national {
			if r < '0' || r > '9' {
				b.WriteRune(r)
				continue
			}
			seen++
			if seen == 1 || seen > digits-3 {
				b.WriteRune(r)
			} else {
				b.WriteByte('*')
			}
		}
		return b.String()
	}
	if len(to) <= 2 {
		return "***"
	}
	return to[:1] + "***" + to[len(to)-1:]
}

// retry calls try until it succeeds, returns an error that is not
// ErrUnreachable, or ctx ends, waiting a jittered, doubling pause (from
// 100 ms) between tries. A try that could not reach its provider returns
// ErrUnreachable; the last such error is returned when ctx ends.
func retry(ctx context.Context, try func(context.Context) (Receipt, error)) (Receipt, error) {
	pause := 100 * time.Millisecond
	for {
		r, err := try(ctx)
		if err == nil || !errors.Is(err, ErrUnreachable) {
			return r, err
		}
		wait := pause/2 + rand.N(pause/2+1)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return Receipt{}, err
		}
		select {
		case <-ctx.Done():
			return Receipt{}, err
		case <-time.After(wait):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// unreachable is ErrUnreachable caused by what, in words with no
// destination or code in them.
func unreachable(provider string, what error) error {
	return ErrUnreachable.Because(fmt.Errorf("%s: %w", provider, what))
}

// redacted is err for a log line, or a word for it when its text names
// the destination.
func redacted(err error, to string) error {
	if to != "" && strings.Contains(err.Error(), to) {
		return errors.New("an error that names the destination")
	}
	return err
}

// Options configure a Deliverer; a channel whose settings are empty is
// not started.
type Options struct {
	// SMTPURL and EmailFrom start email.
	SMTPURL, EmailFrom string
	// TwilioAccountSID, TwilioAuthToken and TwilioFrom start SMS, through
	// TwilioAPIURL (TwilioAPI when empty).
	TwilioAPIURL, TwilioAccountSID, TwilioAuthToken, TwilioFrom string
	// Countries are the ISO 3166 regions SMS may go to; none: any.
	Countries []string
	// WebhookURL and WebhookSecret start the webhook.
	WebhookURL    string
	WebhookSecret []byte
	// Timeout bounds a delivery, retries included (DefaultTimeout).
	Timeout time.Duration
	// TemplatesDir overrides the embedded templates; Issuer names the
	// service in them.
	TemplatesDir, Issuer string
	Now                  func() time.Time
	// Random makes the IDs of emails and webhook messages
	// (crypto/rand.Reader when nil).
	Random io.Reader
}

// DefaultTimeout bounds a delivery, retries included.
const DefaultTimeout = 5 * time.Second

// Deliverer sends through the channels configured.
type Deliverer struct {
	senders   map[Channel]Sender
	countries []string
	timeout   time.Duration
}

// New starts the channels o configures. A setting that does not read, or
// a template that does not parse, is an error: nothing half-configured
// starts.
func New(o Options) (*Deliverer, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Random == nil {
		o.Random = cryptorand.Reader
	}
	templates, err := LoadTemplates(o.TemplatesDir, o.Issuer, o.Now)
	if err != nil {
		return nil, err
	}
	d := &Deliverer{senders: map[Channel]Sender{}, timeout: o.Timeout}
	for _, c := range o.Countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if len(c) != 2 || !phonenumbers.GetSupportedRegions()[c] {
			return nil, fmt.Errorf("SMS_COUNTRIES: %q is not an ISO 3166 region code such as GB", c)
		}
		d.countries = append(d.countries, c)
	}
	if o.SMTPURL != "" || o.EmailFrom != "" {
		if d.senders[Email], err = NewSMTP(o.SMTPURL, o.EmailFrom, templates, o.Random); err != nil {
			return nil, err
		}
	}
	if o.TwilioAccountSID != "" || o.TwilioAuthToken != "" || o.TwilioFrom != "" {
		if d.senders[SMS], err = NewTwilio(o.TwilioAPIURL, o.TwilioAccountSID, o.TwilioAuthToken, o.TwilioFrom, templates); err != nil {
			return nil, err
		}
	}
	if o.WebhookURL != "" {
		if d.senders[Webhook], err = NewWebhookSender(o.WebhookURL, o.WebhookSecret, o.Random); err != nil {
			return nil, fmt.Errorf("DELIVERY_WEBHOOK_URL and DELIVERY_WEBHOOK_SECRET: %w", err)
		}
	}
	return d, nil
}

// Channels lists the channels started. A nil Deliverer has none.
func (d *Deliverer) Channels() []Channel {
	var out []Channel
	if d == nil {
		return nil
	}
	for _, c := range Channels {
		if _, ok := d.senders[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Destination is Destination for a started channel, under the countries
// configured.
func (d *Deliverer) Destination(channel Channel, subject string) (string, error) {
	if d == nil {
		return "", ErrNotConfigured
	}
	if _, ok := d.senders[channel]; !ok {
		return "", ErrNotConfigured
	}
	return Destination(channel, subject, d.countries)
}

// Send delivers m within the timeout, retries included.
func (d *Deliverer) Send(ctx context.Context, m Message) (Receipt, error) {
	if d == nil {
		return Receipt{}, ErrNotConfigured
	}
	s, ok := d.senders[m.Channel]
	if !ok {
		return Receipt{}, ErrNotConfigured
	}
	// A caller that goes away does not cut a send short.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
	defer cancel()
	return s.Send(ctx, m)
}
