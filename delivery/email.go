package delivery

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTP sends email through one SMTP server with go-mail, which builds the
// MIME message (text and HTML parts, Message-ID, Date) and speaks
// STARTTLS and AUTH.
type SMTP struct {
	host      string
	opts      []mail.Option
	from      string
	templates *Templates
	random    io.Reader
}

// NewSMTP reads rawURL: smtp://user:pass@host:587 with STARTTLS required,
// smtps://user:pass@host:465 with implicit TLS, or ?starttls=none on
// smtp:// only for a local relay that has no TLS. from is the From
// address. Errors never repeat the URL, which holds a password.
func NewSMTP(rawURL, from string, templates *Templates, random io.Reader) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]")
	}
	if _, err := Destination(Email, from, nil); err != nil {
		return nil, errors.New("EMAIL_FROM must be one email address")
	}
	opts := []mail.Option{mail.WithTimeout(5 * time.Second)}
	port := 587
	switch {
	case u.Scheme == "smtps":
		port = 465
		opts = append(opts, mail.WithSSL())
	case u.Query().Get("starttls") == "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case u.Query().Get("starttls") == "" || u.Query().Get("starttls") == "required":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		return nil, errors.New("SMTP_URL's starttls must be required (the default) or none")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("SMTP_URL's port must be a number")
		}
	}
	opts = append(opts, mail.WithPort(port))
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(user), mail.WithPassword(pass))
	}
	return &SMTP{host: u.Hostname(), opts: opts, from: from, templates: templates, random: random}, nil
}

// Send mails m as the templates of its purpose and locale write it,
// retrying a server that cannot be reached, or answers a temporary
// failure, until ctx ends.
func (s *SMTP) Send(ctx context.Context, m Message) (Receipt, error) {
	text, err := s.templates.Email(m)
	if err != nil {
		return Receipt{}, err
	}
	msg := mail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return Receipt{}, fmt.Errorf("EMAIL_FROM: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return Receipt{}, ErrInvalidEmail
	}
	msg.Subject(text.Subject)
	msg.SetBodyString(mail.TypeTextPlain, text.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, text.HTML)
	// The Message-ID is random and names the sender's domain, as go-mail
	// makes it, but from this sender's random source.
	var raw [16]byte
	if _, err := io.ReadFull(s.random, raw[:]); err != nil {
		return Receipt{}, err
	}
	_, domain, _ := strings.Cut(s.from, "@")
	msg.SetMessageIDWithValue(hex.EncodeToString(raw[:]) + "@" + domain)
	msg.SetDate()
	id := strings.Trim(msg.GetMessageID(), "<>")
	return retry(ctx, func(ctx context.Context) (Receipt, error) {
		// A server that takes the connection and then says nothing holds
		// a try no longer than the time left.
		opts := s.opts
		if deadline, ok := ctx.Deadline(); ok {
			opts = append(slices.Clone(s.opts), mail.WithTimeout(max(time.Until(deadline), 10*time.Millisecond)))
		}
		client, err := mail.NewClient(s.host, opts...)
		if err != nil {
			return Receipt{}, err
		}
		err = client.DialAndSendWithContext(ctx, msg)
		var se *mail.SendError
		switch {
		case err == nil:
			return Receipt{ID: id}, nil
		case errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500:
			// A permanent refusal (550 no such user): sending again will
			// not help. go-mail's text names the recipient, so only the
			// codes go on.
			f := ErrRefused.Explain(fmt.Sprintf("the mail server answered %d %s", se.ErrorCode(), se.EnhancedStatusCode()))
			f.ProviderCode = strconv.Itoa(se.ErrorCode())
			return Receipt{}, f
		case errors.As(err, &se):
			return Receipt{}, unreachable("smtp", fmt.Errorf("%s, reply %d %s", se.Reason, se.ErrorCode(), se.EnhancedStatusCode()))
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			return Receipt{}, unreachable("smtp", errors.New("no answer in time"))
		}
		return Receipt{}, unreachable("smtp", redacted(err, m.To))
	})
}
