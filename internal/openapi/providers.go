package main

import (
	"bytes"
	"errors"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/go-json-experiment/json"

	"github.com/acme/totp/delivery"
	"github.com/acme/totp/internal/apitest"
	"github.com/acme/totp/seal"
	"github.com/acme/totp/trust"
)

// Providers for the examples of codes the service sends itself: an SMTP
// server (go-smtp, no TLS, on loopback) that refuses refused@example.com
// with 550, and a webhook receiver that refuses the subject "refused".
// Each keeps the last code it got, so a verification can use it.
type providers struct {
	smtpAddr string
	hook     *httptest.Server
	refuser  *httptest.Server // refuses every message
	mu       sync.Mutex
	lastCode string
}

var codeIn = regexp.MustCompile(`\b\d{6}\b`)

func (p *providers) keep(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := codeIn.FindString(text); c != "" {
		p.lastCode = c
	}
}

func (p *providers) code() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastCode
}

func startProviders() (*providers, error) {
	p := &providers{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := smtp.NewServer(smtpBackend{p})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(ln) }()
	p.smtpAddr = ln.Addr().String()
	p.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m delivery.WebhookMessage
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &m) != nil || m.To == "refused" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.keep(m.Code)
		w.WriteHeader(http.StatusNoContent)
	}))
	p.refuser = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) }))
	return p, nil
}

type smtpBackend struct{ p *providers }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{p: b.p}, nil }

type smtpSession struct{ p *providers }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == "refused@example.com" {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.keep(string(b))
	return nil
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// deliverer sends through these providers (or, dead, through ports
// nothing listens on, giving up after 300 ms), its IDs from a seeded
// source so that the document is the same at every run.
func (p *providers) deliverer(kind provider) *delivery.Deliverer {
	smtpURL, hook, timeout := "smtp://"+p.smtpAddr+"?starttls=none", p.hook.URL, delivery.DefaultTimeout
	switch kind {
	case dead:
		smtpURL, hook, timeout = "smtp://127.0.0.1:1?starttls=none", "http://127.0.0.1:1/codes", 300*time.Millisecond
	case refusing:
		hook = p.refuser.URL
	}
	d, err := delivery.New(delivery.Options{
		SMTPURL: smtpURL, EmailFrom: "codes@example.com",
		WebhookURL: hook, WebhookSecret: []byte("example-webhook-secret"),
		Timeout: timeout, Issuer: "Acme", Now: func() time.Time { return now },
		Random: mathrand.NewChaCha8([32]byte{7}),
	})
	if err != nil {
		panic(err)
	}
	return d
}

// provider is how the providers a service sends through behave.
type provider int

const (
	working  provider = iota
	dead              // nothing listens
	refusing          // the webhook receiver refuses every message
)

// sending configures the service to send through the providers.
func (p *providers) sending(kind provider) func(*apitest.Options) {
	return func(c *apitest.Options) { c.Delivery = p.deliverer(kind) }
}

// another is a second service beside the spec's, sharing its keys: one
// to issue a challenge that the spec's service then resends or checks.
func (p *providers) another(change func(*apitest.Options)) http.Handler {
	cfg := apitest.Config(func() time.Time { return now }, io.Discard)
	cfg.Random = mathrand.NewChaCha8([32]byte{42})
	cfg.Delivery = p.deliverer(working)
	if change != nil {
		change(&cfg)
	}
	return apitest.New(cfg)
}

var errNoCode = errors.New("no code reached the providers")

// deliverySpecs are the examples of codes the service sends itself.
func deliverySpecs(p *providers) []spec {
	ok, down, refuse := p.sending(working), p.sending(dead), p.sending(refusing)
	oneSend := func(c *apitest.Options) { ok(c); c.MaxSends = 1 }
	email := `{"subject":"alice@example.com","purpose":"login","channel":"email"}`
	hook := `{"subject":"user-42","purpose":"login","channel":"webhook"}`
	// issued is a challenge another service sent by webhook, for a resend.
	issued := func() string {
		w := send(p.another(nil), "POST", "/challenge", hook)
		var r struct {
			Challenge string `json:"challenge"`
		}
		if json.Unmarshal(w.Body.Bytes(), &r) != nil || r.Challenge == "" {
			panic("no challenge issued: " + w.Body.String())
		}
		return r.Challenge
	}
	resend := func(name, summary string, want int, change func(*apitest.Options), own bool) spec {
		return with(spec{op: "resendChallenge", name: name, summary: summary, want: want, run: func(h http.Handler) *httptest.ResponseRecorder {
			challenge := ""
			if own {
				w := send(h, "POST", "/challenge", hook)
				var r struct {
					Challenge string `json:"challenge"`
				}
				_ = json.Unmarshal(w.Body.Bytes(), &r)
				challenge = r.Challenge
			} else {
				challenge = issued()
			}
			return send(h, "POST", "/challenge/resend", `{"challenge":"`+challenge+`","subject":"user-42","purpose":"login"}`)
		}}, change)
	}
	otp := `{"email":"alice@example.com","metaData":{"deviceName":"Pixel 8","timeZone":"Europe/London"}}`
	token := func(h http.Handler) string {
		w := send(h, "POST", "/2fa/requestotp", otp)
		var r struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &r)
		return r.Token
	}
	verifyOTP := func(name, summary string, want int, change func(*apitest.Options), body func(h http.Handler) string) spec {
		return with(spec{op: "verifyOTP", name: name, summary: summary, want: want, run: func(h http.Handler) *httptest.ResponseRecorder {
			return send(h, "POST", "/2fa/verifyotp", body(h))
		}}, change)
	}
	return []spec{
		with(post("issueChallenge", "sent", "sent by email: no code in the answer", 200, email), ok),
		with(after("issueChallenge", "too_many_sends", "a second code to one destination, with CHALLENGE_MAX_SENDS=1", 429, func(h http.Handler) { send(h, "POST", "/challenge", email) }, email), oneSend),
		post("issueChallenge", "delivery_not_configured", "a channel with no provider configured", 501, email),
		with(post("issueChallenge", "delivery_failed", "the webhook receiver refused it", 502, `{"subject":"refused","channel":"webhook"}`), ok),
		with(post("issueChallenge", "delivery_unavailable", "the mail server cannot be reached", 503, email), down),

		resend("resent", "the same code, the same way", 200, ok, false),
		with(post("resendChallenge", "invalid_challenge", "a challenge that does not open", 400, `{"challenge":"c2.c.AAAA","subject":"user-42"}`), ok),
		resend("too_many_sends", "again within the cooldown", 429, ok, true),
		resend("delivery_not_configured", "on an instance without the challenge's channel", 501, nil, false),
		resend("delivery_failed", "the webhook receiver refused it", 502, refuse, false),
		resend("delivery_unavailable", "the webhook receiver cannot be reached", 503, down, false),

		with(post("requestOTP", "sent", "the code emailed", 200, otp), ok),
		with(post("requestOTP", "invalid_parameter", "a second recipient in email", 400, `{"email":"alice@example.com\r\nBcc: eve@example.com"}`), ok),
		with(after("requestOTP", "too_many_sends", "a second code to one address, with CHALLENGE_MAX_SENDS=1", 429, func(h http.Handler) { send(h, "POST", "/2fa/requestotp", otp) }, otp), oneSend),
		post("requestOTP", "delivery_not_configured", "no SMTP_URL", 501, otp),
		with(post("requestOTP", "delivery_failed", "the mail server refused the recipient", 502, `{"email":"refused@example.com"}`), ok),
		with(post("requestOTP", "delivery_unavailable", "the mail server cannot be reached", 503, otp), down),

		verifyOTP("valid", "the emailed code", 200, ok, func(h http.Handler) string {
			t := token(h)
			return `{"token":"` + t + `","otp":"` + p.code() + `"}`
		}),
		verifyOTP("invalid_otp", "a wrong code", 400, ok, func(h http.Handler) string {
			return `{"token":"` + token(h) + `","otp":"000000"}`
		}),
		verifyOTP("too_many_attempts", "ten wrong codes for one address within the hour", 429, ok, func(h http.Handler) string {
			var last string
			for range 2 {
				last = token(h)
				for range 5 {
					send(h, "POST", "/2fa/verifyotp", `{"token":"`+last+`","otp":"000000"}`)
				}
			}
			return `{"token":"` + token(h) + `","otp":"000000"}`
		}),
		verifyOTP("guard_off", "GUARD=off", 503, func(c *apitest.Options) { ok(c); noGuard(c) }, func(http.Handler) string {
			return `{"token":"` + token(p.another(nil)) + `","otp":"000000"}`
		}),
	}
}

// trusting configures the service with a trust key, on the examples'
// clock and a seeded source.
func trusting(c *apitest.Options) {
	s, err := trust.New(trust.Options{Keys: []seal.Key{{ID: "2026-12", Secret: bytes.Repeat([]byte{3}, seal.KeyLen)}},
		Now: func() time.Time { return now }, Random: mathrand.NewChaCha8([32]byte{9})})
	if err != nil {
		panic(err)
	}
	c.Trust = s
}

// trustSpecs are the examples of trusted-device tokens.
func trustSpecs() []spec {
	issue := `{"subject":"user-42","device":"d-7f3a9c","epoch":3}`
	token := func(h http.Handler) string {
		w := send(h, "POST", "/trust", issue)
		var r struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &r)
		return r.Token
	}
	check := func(name, summary string, want int, epoch string) spec {
		return with(spec{op: "verifyTrust", name: name, summary: summary, want: want, run: func(h http.Handler) *httptest.ResponseRecorder {
			return send(h, "POST", "/trust/verify", `{"token":"`+token(h)+`","subject":"user-42","device":"d-7f3a9c","epoch":`+epoch+`}`)
		}}, trusting)
	}
	return []spec{
		with(post("issueTrust", "issued", "for 30 days", 200, issue), trusting),
		with(post("issueTrust", "invalid_parameter", "a ttl over 90 days", 400, `{"subject":"user-42","device":"d-7f3a9c","ttl":9999999}`), trusting),
		post("issueTrust", "trust_not_configured", "no TRUST_KEYS", 501, issue),
		check("valid", "refreshed: put the new token in the cookie", 200, "3"),
		check("revoked", "the user's epoch moved on: signed out everywhere", 200, "4"),
		with(post("verifyTrust", "missing_field", "no token", 400, `{"subject":"user-42","device":"d-7f3a9c"}`), trusting),
		post("verifyTrust", "trust_not_configured", "no TRUST_KEYS", 501, `{"token":"t1.x.AAAA","subject":"user-42","device":"d-7f3a9c"}`),
	}
}
