package delivery_test

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/delivery"
	"github.com/acme/totp/fault"
)

func TestDestination(t *testing.T) {
	tests := []struct {
		name      string
		channel   delivery.Channel
		give      string
		countries []string
		want      string
		wantErr   error
	}{
		{"an address", delivery.Email, "alice@example.com", nil, "alice@example.com", nil},
		{"a plus address", delivery.Email, "alice+2fa@example.co.uk", nil, "alice+2fa@example.co.uk", nil},
		{"a header after CR LF", delivery.Email, "a@example.com\r\nBcc: b@example.com", nil, "", delivery.ErrInvalidEmail},
		{"a bare LF", delivery.Email, "a@example.com\nBcc: b@example.com", nil, "", delivery.ErrInvalidEmail},
		{"two addresses", delivery.Email, "a@example.com, b@example.com", nil, "", delivery.ErrInvalidEmail},
		{"a display name", delivery.Email, "Eve <a@example.com>", nil, "", delivery.ErrInvalidEmail},
		{"a group", delivery.Email, "undisclosed:a@example.com;", nil, "", delivery.ErrInvalidEmail},
		{"not an address", delivery.Email, "alice", nil, "", delivery.ErrInvalidEmail},
		{"a UK mobile", delivery.SMS, "+447911123456", nil, "+447911123456", nil},
		{"spaced: the E.164 form", delivery.SMS, "+44 7911 123456", nil, "+447911123456", nil},
		{"no country code", delivery.SMS, "07911123456", nil, "", delivery.ErrInvalidPhone},
		{"too short", delivery.SMS, "+44791", nil, "", delivery.ErrInvalidPhone},
		{"letters", delivery.SMS, "+44791112345a", nil, "", delivery.ErrInvalidPhone},
		{"in an allowed country", delivery.SMS, "+4915123456789", []string{"DE", "GB"}, "+4915123456789", nil},
		{"outside SMS_COUNTRIES", delivery.SMS, "+447911123456", []string{"DE"}, "", delivery.ErrCountry},
		{"premium-rate pumping target outside the list", delivery.SMS, "+8823912345678", []string{"GB"}, "", delivery.ErrInvalidPhone},
		{"webhook takes it as it is", delivery.Webhook, "user-42", nil, "user-42", nil},
		{"webhook, no line break", delivery.Webhook, "user\r\n42", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := delivery.Destination(tt.channel, tt.give, tt.countries)
			if tt.want == "" {
				require.Error(t, err)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Equal(t, "subject", fault.From(err).Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		channel  delivery.Channel
		give     string
		want     string
		notShown string
	}{
		{delivery.Email, "alice@example.com", "a***@example.com", "alice"},
		{delivery.SMS, "+447911123012", "+44 7*** ***012", "911123"},
		{delivery.SMS, "+4915123456789", "+49 1*** ****789", "5123456"},
		{delivery.Webhook, "user-42", "u***2", "ser-4"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got := delivery.Mask(tt.channel, tt.give)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, tt.notShown)
		})
	}
}

// TestSignature: a receiver's check, as the README gives it, accepts the
// body it was sent and refuses a changed byte or another secret.
func TestSignature(t *testing.T) {
	secret, body := []byte("0123456789abcdef-webhook"), []byte(`{"code":"123456"}`)
	sig := delivery.Sign(secret, body)
	assert.Regexp(t, `^sha256=[0-9a-f]{64}$`, sig)
	assert.True(t, delivery.Verify(secret, body, sig))
	assert.False(t, delivery.Verify(secret, []byte(`{"code":"123457"}`), sig))
	assert.False(t, delivery.Verify([]byte("another secret of 16+"), body, sig))
	assert.False(t, delivery.Verify(secret, body, ""))
}

func TestTemplates(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tm, err := delivery.LoadTemplates("", "Acme", func() time.Time { return now })
	require.NoError(t, err)
	m := delivery.Message{Code: "482913", Purpose: "login", ExpiresAt: now.Add(9*time.Minute + time.Second)}
	en, err := tm.Email(m)
	require.NoError(t, err)
	assert.Equal(t, "482913 is your Acme code", en.Subject)
	assert.Contains(t, en.Text, "for login is 482913")
	assert.Contains(t, en.Text, "10 minutes")
	assert.Contains(t, en.HTML, "<strong>482913</strong>")

	m.Locale = "de-CH"
	de, err := tm.Email(m)
	require.NoError(t, err)
	assert.Equal(t, "482913 ist Ihr Acme-Code", de.Subject, "de-CH falls back on de")
	m.Locale = "fr"
	sms, err := tm.SMS(m)
	require.NoError(t, err)
	assert.Equal(t, "482913 is your Acme code. It expires in 10 min. Do not share it.", sms, "an unknown language falls back on en")

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "en", "signup"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "en", "signup", "sms.txt.tmpl"), []byte("Welcome to {{.Issuer}}: {{.Code}}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "en", "email.subject.tmpl"), []byte("Your code\r\nBcc: x@example.com {{.Code}}"), 0o644))
	over, err := delivery.LoadTemplates(dir, "Acme", func() time.Time { return now })
	require.NoError(t, err)
	got, err := over.SMS(delivery.Message{Code: "1", Purpose: "signup", ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, "Welcome to Acme: 1", got, "a purpose's own template")
	got, err = over.SMS(delivery.Message{Code: "1", Purpose: "login", ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)
	assert.Contains(t, got, "is your Acme code", "other purposes keep the default")
	e, err := over.Email(delivery.Message{Code: "1", ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, "Your code Bcc: x@example.com 1", e.Subject, "a subject is one line, whatever the template writes")

	broken := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(broken, "en"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "en", "sms.txt.tmpl"), []byte("{{.Code"), 0o644))
	_, err = delivery.LoadTemplates(broken, "Acme", time.Now)
	assert.ErrorContains(t, err, "sms.txt.tmpl", "a template that does not parse refuses to start")
}

// twilio is a server speaking Twilio's Messages API as its reference
// gives it: basic auth, a form with To, From or MessagingServiceSid and
// Body; 201 with a sid, or 400 with Twilio's error 21211.
type twilio struct {
	mu       sync.Mutex
	received []url.Values
	fails    int // answer 503 to this many requests first
}

func (tw *twilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || !ok || user != "AC123" || pass != "token-secret" {
		http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		http.Error(w, `{"code":21601,"status":400}`, http.StatusBadRequest)
		return
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.fails > 0 {
		tw.fails--
		http.Error(w, `{"code":20500,"status":503}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("To") == "+447700900000" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":21211,"message":"The 'To' number +447700900000 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
		return
	}
	tw.received = append(tw.received, r.PostForm)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"sid":"SM`+strings.Repeat("a", 32)+`","status":"queued"}`)
}

func TestTwilio(t *testing.T) {
	tw := &twilio{fails: 2}
	srv := httptest.NewServer(tw)
	defer srv.Close()
	tm, err := delivery.LoadTemplates("", "Acme", time.Now)
	require.NoError(t, err)
	s, err := delivery.NewTwilio(srv.URL, "AC123", "token-secret", "MG0123", tm)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := s.Send(ctx, delivery.Message{Channel: delivery.SMS, To: "+447911123456", Code: "482913", ExpiresAt: time.Now().Add(time.Minute)})
	require.NoError(t, err, "two 503s are retried")
	assert.Equal(t, "SM"+strings.Repeat("a", 32), r.ID)
	require.Len(t, tw.received, 1)
	assert.Equal(t, "+447911123456", tw.received[0].Get("To"))
	assert.Equal(t, "MG0123", tw.received[0].Get("MessagingServiceSid"), "an MG... sender is a messaging service")
	assert.Empty(t, tw.received[0].Get("From"))
	assert.Contains(t, tw.received[0].Get("Body"), "482913")

	_, err = s.Send(ctx, delivery.Message{Channel: delivery.SMS, To: "+447700900000", Code: "482913", ExpiresAt: time.Now().Add(time.Minute)})
	require.ErrorIs(t, err, delivery.ErrRefused, "a refusal is not retried")
	f := fault.From(err)
	assert.Equal(t, "21211", f.ProviderCode)
	assert.NotContains(t, err.Error(), "+447700900000", "Twilio's message quotes the number; the error does not")
	assert.NotContains(t, err.Error(), "482913")

	bad, err := delivery.NewTwilio(srv.URL, "AC123", "wrong", "+15005550006", tm)
	require.NoError(t, err)
	_, err = bad.Send(ctx, delivery.Message{Channel: delivery.SMS, To: "+447911123456", Code: "1", ExpiresAt: time.Now().Add(time.Minute)})
	assert.Equal(t, "20003", fault.From(err).ProviderCode, "wrong credentials: Twilio's 20003")

	srv.Close()
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = s.Send(short, delivery.Message{Channel: delivery.SMS, To: "+447911123456", Code: "1", ExpiresAt: time.Now().Add(time.Minute)})
	assert.ErrorIs(t, err, delivery.ErrUnreachable)
	assert.Less(t, time.Since(start), time.Second, "retries stop at the deadline")
}

func TestWebhook(t *testing.T) {
	secret := []byte("webhook-secret-0123456789")
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !delivery.Verify(secret, body, r.Header.Get(delivery.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		got <- body
	}))
	defer srv.Close()
	s, err := delivery.NewWebhookSender(srv.URL, secret, nil)
	require.NoError(t, err)
	r, err := s.Send(context.Background(), delivery.Message{Channel: delivery.Webhook, To: "user-42", Code: "482913", Purpose: "login", Locale: "de", ExpiresAt: time.Unix(1_700_000_600, 0)})
	require.NoError(t, err)
	body := <-got
	assert.JSONEq(t, `{"id":"`+r.ID+`","channel":"webhook","to":"user-42","code":"482913","purpose":"login","expires_at":"2023-11-14T22:23:20Z","locale":"de"}`, string(body))

	wrong, err := delivery.NewWebhookSender(srv.URL, []byte("not-the-secret-0123"), nil)
	require.NoError(t, err)
	_, err = wrong.Send(context.Background(), delivery.Message{Channel: delivery.Webhook, To: "u", Code: "1"})
	require.ErrorIs(t, err, delivery.ErrRefused)
	assert.Equal(t, "401", fault.From(err).ProviderCode)
	_, err = delivery.NewWebhookSender(srv.URL, []byte("short"), nil)
	assert.Error(t, err, "a guessable secret refuses to start")
}

// TestNew: channels start only when configured, and settings that do
// not read refuse to start without quoting a password.
func TestNew(t *testing.T) {
	d, err := delivery.New(delivery.Options{})
	require.NoError(t, err)
	assert.Empty(t, d.Channels())
	_, err = d.Destination(delivery.Email, "a@example.com")
	assert.ErrorIs(t, err, delivery.ErrNotConfigured)

	for name, o := range map[string]delivery.Options{
		"an http URL":          {SMTPURL: "http://u:pw-secret@mail.example.com", EmailFrom: "a@example.com"},
		"no From":              {SMTPURL: "smtp://u:pw-secret@mail.example.com"},
		"an unknown starttls":  {SMTPURL: "smtp://u:pw-secret@mail.example.com?starttls=maybe", EmailFrom: "a@example.com"},
		"Twilio without token": {TwilioAccountSID: "AC1", TwilioFrom: "+15005550006"},
		"an unknown country":   {Countries: []string{"XX"}},
		"a short hook secret":  {WebhookURL: "https://hooks.example.com", WebhookSecret: []byte("pw-secret")},
	} {
		_, err := delivery.New(o)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "pw-secret", name)
	}
	d, err = delivery.New(delivery.Options{SMTPURL: "smtps://u:p@mail.example.com", EmailFrom: "codes@example.com",
		TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+15005550006", Countries: []string{"gb"},
		WebhookURL: "https://hooks.example.com/codes", WebhookSecret: []byte(base64.StdEncoding.EncodeToString(make([]byte, 16)))})
	require.NoError(t, err)
	assert.Equal(t, []delivery.Channel{delivery.Email, delivery.SMS, delivery.Webhook}, d.Channels())
	_, err = d.Destination(delivery.SMS, "+4915123456789")
	assert.ErrorIs(t, err, delivery.ErrCountry, "SMS_COUNTRIES is read case-insensitively: gb is GB")
}

// TestSilentMailServer: a server that takes the connection and says
// nothing holds a delivery no longer than its timeout.
func TestSilentMailServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, silent, until the test ends
		}
	}()
	d, err := delivery.New(delivery.Options{SMTPURL: "smtp://" + ln.Addr().String() + "?starttls=none", EmailFrom: "codes@example.com", Timeout: 500 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	_, err = d.Send(context.Background(), delivery.Message{Channel: delivery.Email, To: "a@example.com", Code: "482913", ExpiresAt: time.Now().Add(time.Minute)})
	assert.ErrorIs(t, err, delivery.ErrUnreachable)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	assert.NotContains(t, err.Error(), "a@example.com")
}
