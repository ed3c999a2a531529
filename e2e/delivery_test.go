package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/delivery"
)

// mailbox is a real SMTP server (go-smtp) on loopback that offers
// STARTTLS on a certificate of its own CA, and takes mail only over TLS
// and after AUTH PLAIN as user/pass.
type mailbox struct {
	addr   string
	caFile string
	srv    *smtp.Server
	mu     sync.Mutex
	mails  []received
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test mail CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	m := &mailbox{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	require.NoError(t, os.WriteFile(m.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	m.srv = smtp.NewServer(mailBackend{m})
	m.srv.Domain = "localhost"
	m.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	m.start(t, "127.0.0.1:0")
	return m
}

func (m *mailbox) start(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	m.addr = ln.Addr().String()
	srv := m.srv
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

func (m *mailbox) all() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.mails...)
}

type mailBackend struct{ m *mailbox }

func (b mailBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mailSession{m: b.m, conn: c}, nil
}

type mailSession struct {
	m    *mailbox
	conn *smtp.Conn
	auth bool
	r    received
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "user" || pass != "smtp-password-9f3" {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.r = received{from: from}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == "nobody@example.com" {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.r.to = append(s.r.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.r.data, s.r.tls = data, isTLS
	s.m.mu.Lock()
	s.m.mails = append(s.m.mails, s.r)
	s.m.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

// parts reads a mail's headers and its text and HTML parts.
func parts(t *testing.T, data []byte) (*mail.Message, map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			b = qpDecode(t, b)
		}
		out[ct] = string(b)
	}
	return msg, out
}

func qpDecode(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	require.NoError(t, err)
	return out
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// TestEmailCodesAgainstTheBinary: the binary sends a code over SMTP with
// STARTTLS on a test CA's certificate, and AUTH; the mail has From, To,
// Subject, Message-ID, a text and an HTML part; the code verifies; a
// resend carries the same code and waits out the cooldown; the fifth
// send to one address is the last; a stopped server is 503 with nothing
// of the code in the answer or the log.
func TestEmailCodesAgainstTheBinary(t *testing.T) {
	mb := startMailbox(t)
	base, cmd, logs := startBinary(t, "SMTP_URL=smtp://user:smtp-password-9f3@"+mb.addr, "EMAIL_FROM=codes@example.com",
		"SSL_CERT_FILE="+mb.caFile, "ISSUER=Acme", "CHALLENGE_RESEND_COOLDOWN=2s", "DELIVERY_TIMEOUT=1s")
	issue := map[string]any{"subject": "alice@example.com", "purpose": "login", "channel": "email"}
	status, _, got := call(t, base+"/challenge", "", issue)
	require.Equal(t, http.StatusOK, status, "%v", got)
	assert.NotContains(t, got, "code", "the service sent the code: the answer has none")
	d := got["delivery"].(map[string]any)
	assert.Equal(t, "a***@example.com", d["to"])
	assert.Equal(t, "sent", d["status"])

	mails := mb.all()
	require.Len(t, mails, 1)
	assert.True(t, mails[0].tls)
	assert.Equal(t, []string{"alice@example.com"}, mails[0].to)
	msg, body := parts(t, mails[0].data)
	assert.Equal(t, "codes@example.com", strings.Trim(msg.Header.Get("From"), "<>"))
	assert.Equal(t, "alice@example.com", strings.Trim(msg.Header.Get("To"), "<>"))
	assert.Equal(t, d["id"], strings.Trim(msg.Header.Get("Message-Id"), "<>"), "the answer's id is the Message-ID")
	assert.NotEmpty(t, msg.Header.Get("Date"))
	code := sixDigits.FindString(body["text/plain"])
	require.NotEmpty(t, code, body["text/plain"])
	assert.Contains(t, msg.Header.Get("Subject"), code)
	assert.Contains(t, body["text/html"], "<strong>"+code+"</strong>")

	resend := map[string]any{"challenge": got["challenge"], "subject": "alice@example.com", "purpose": "login"}
	status, retry, _ := call(t, base+"/challenge/resend", "", resend)
	assert.Equal(t, http.StatusTooManyRequests, status, "within the cooldown")
	assert.Equal(t, "2", retry)
	time.Sleep(2100 * time.Millisecond) // CHALLENGE_RESEND_COOLDOWN, of the binary's own clock
	status, _, again := call(t, base+"/challenge/resend", "", resend)
	require.Equal(t, http.StatusOK, status, "%v", again)
	require.Len(t, mb.all(), 2)
	_, body2 := parts(t, mb.all()[1].data)
	assert.Equal(t, code, sixDigits.FindString(body2["text/plain"]), "a resend carries the same code")

	status, _, v := call(t, base+"/challenge/verify", "", map[string]any{"challenge": got["challenge"], "code": code, "subject": "alice@example.com", "purpose": "login"})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, v["valid"])

	// Two sends so far; three new challenges make five; the sixth waits.
	for range 3 {
		status, _, got := call(t, base+"/challenge", "", issue)
		require.Equal(t, http.StatusOK, status, "%v", got)
	}
	status, retry, got = call(t, base+"/challenge", "", issue)
	assert.Equal(t, http.StatusTooManyRequests, status, "%v", got)
	assert.Equal(t, "too_many_sends", got["code"])
	assert.NotEmpty(t, retry)
	assert.Len(t, mb.all(), 5)

	status, _, got = call(t, base+"/challenge", "", map[string]any{"subject": "nobody@example.com", "channel": "email"})
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Equal(t, "delivery_failed", got["code"])
	assert.Equal(t, "550", got["provider_code"])
	assert.NotContains(t, got, "challenge")

	mb.srv.Close()
	start := time.Now()
	status, _, got = call(t, base+"/challenge", "", map[string]any{"subject": "bob@example.com", "channel": "email"})
	assert.Equal(t, http.StatusServiceUnavailable, status, "%v", got)
	assert.Equal(t, "delivery_unavailable", got["code"])
	assert.NotContains(t, got, "challenge")
	assert.Less(t, time.Since(start), 3*time.Second, "retries end at DELIVERY_TIMEOUT")

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	_ = cmd.Wait()
	log := logs()
	for _, secret := range []string{code, "alice@example.com", "bob@example.com", "nobody@example.com", "smtp-password-9f3"} {
		assert.NotContains(t, log, secret, "the log holds no code, address or password")
	}
	assert.Contains(t, log, "a***@example.com", "the log names the masked destination")
	assert.Contains(t, log, d["id"].(string), "and the provider's message ID")
}

// TestHeaderInjection: a subject or a purpose that could become a header
// reaches no mailbox and is 400 naming its field.
func TestHeaderInjection(t *testing.T) {
	mb := startMailbox(t)
	base, _, _ := startBinary(t, "SMTP_URL=smtp://user:smtp-password-9f3@"+mb.addr, "EMAIL_FROM=codes@example.com", "SSL_CERT_FILE="+mb.caFile)
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"Bcc after CR LF", map[string]any{"subject": "a@example.com\r\nBcc: b@example.com", "channel": "email"}, "subject"},
		{"a second address", map[string]any{"subject": "a@example.com, b@example.com", "channel": "email"}, "subject"},
		{"a display name", map[string]any{"subject": "B <b@example.com>", "channel": "email"}, "subject"},
		{"a purpose with CR LF", map[string]any{"subject": "a@example.com", "purpose": "login\r\nBcc: b@example.com", "channel": "email"}, "purpose"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, got := call(t, base+"/challenge", "", tt.body)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tt.field, got["field"])
		})
	}
	status, _, got := postHeaders(t, base+"/2fa/requestotp", map[string]string{}, map[string]any{"email": "a@example.com\r\nBcc: b@example.com"})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "email", got["field"], "the drop-in route names its own field")
	assert.Empty(t, mb.all(), "no mail went anywhere")
}

// twilioServer speaks Twilio's Messages API: basic auth SID:TOKEN, the
// form fields To, From and Body; 201 with a sid, or 400 with 21211.
func twilioServer(t *testing.T) (*httptest.Server, func() []map[string]string) {
	t.Helper()
	var (
		mu  sync.Mutex
		got []map[string]string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "AC0123" || pass != "twilio-token-77" || r.URL.Path != "/2010-04-01/Accounts/AC0123/Messages.json" || r.ParseForm() != nil {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("To") == "+447400123457" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code":21211,"message":"The 'To' number +447400123457 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
			return
		}
		mu.Lock()
		got = append(got, map[string]string{"To": r.PostForm.Get("To"), "From": r.PostForm.Get("From"), "Body": r.PostForm.Get("Body")})
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM00000000000000000000000000000001","status":"queued"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]string {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]string(nil), got...)
	}
}

// TestSMSCodesAgainstTheBinary: an SMS reaches a Twilio-compatible
// gateway and its code verifies; a number the gateway refuses is 502
// with Twilio's 21211; a number outside SMS_COUNTRIES is 400 and sent
// nowhere.
func TestSMSCodesAgainstTheBinary(t *testing.T) {
	tw, sms := twilioServer(t)
	base, _, _ := startBinary(t, "TWILIO_API_URL="+tw.URL, "TWILIO_ACCOUNT_SID=AC0123", "TWILIO_AUTH_TOKEN=twilio-token-77",
		"TWILIO_FROM=+15005550006", "SMS_COUNTRIES=GB")
	status, _, got := call(t, base+"/challenge", "", map[string]any{"subject": "+447400123456", "channel": "sms"})
	require.Equal(t, http.StatusOK, status, "%v", got)
	d := got["delivery"].(map[string]any)
	assert.Equal(t, "+44 7*** ***456", d["to"])
	assert.Equal(t, "SM00000000000000000000000000000001", d["id"])
	require.Len(t, sms(), 1)
	assert.Equal(t, "+447400123456", sms()[0]["To"])
	assert.Equal(t, "+15005550006", sms()[0]["From"])
	code := sixDigits.FindString(sms()[0]["Body"])
	status, _, v := call(t, base+"/challenge/verify", "", map[string]any{"challenge": got["challenge"], "code": code, "subject": "+447400123456"})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, v["valid"])

	status, _, got = call(t, base+"/challenge", "", map[string]any{"subject": "+447400123457", "channel": "sms"})
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Equal(t, "21211", got["provider_code"])
	assert.NotContains(t, got["detail"], "+447400123457", "Twilio's message quotes the number; the answer does not")

	status, _, got = call(t, base+"/challenge", "", map[string]any{"subject": "+4915123456789", "channel": "sms"})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "subject", got["field"])
	status, _, _ = call(t, base+"/challenge", "", map[string]any{"subject": "+44 7400 123456", "channel": "sms"})
	assert.Equal(t, http.StatusBadRequest, status, "not written in E.164: the challenge would bind another subject")
	assert.Len(t, sms(), 1, "nothing else was sent")
}

// TestWebhookCodesAgainstTheBinary: the receiver checks the signature
// over the body it got, as the README says, and gets every field.
func TestWebhookCodesAgainstTheBinary(t *testing.T) {
	secret := []byte("delivery-webhook-secret-5c1")
	bodies := make(chan []byte, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !delivery.Verify(secret, body, r.Header.Get("X-Totp-Signature-256")) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		bodies <- body
	}))
	defer hook.Close()
	base, _, _ := startBinary(t, "DELIVERY_WEBHOOK_URL="+hook.URL, "DELIVERY_WEBHOOK_SECRET="+string(secret))
	status, _, got := call(t, base+"/challenge", "", map[string]any{"subject": "user-42", "purpose": "login", "channel": "webhook", "locale": "de"})
	require.Equal(t, http.StatusOK, status, "%v", got)
	var m map[string]any
	require.NoError(t, json.Unmarshal(<-bodies, &m))
	assert.Equal(t, "webhook", m["channel"])
	assert.Equal(t, "user-42", m["to"])
	assert.Equal(t, "login", m["purpose"])
	assert.Equal(t, "de", m["locale"])
	assert.Equal(t, got["expires_at"], m["expires_at"])
	assert.Equal(t, got["delivery"].(map[string]any)["id"], m["id"])
	status, _, v := call(t, base+"/challenge/verify", "", map[string]any{"challenge": got["challenge"], "code": m["code"], "subject": "user-42", "purpose": "login"})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, v["valid"])
}

// TestEmailOTPServiceRoutes: the email OTP service's own request shapes,
// headers and all, against the binary with keys.
func TestEmailOTPServiceRoutes(t *testing.T) {
	mb := startMailbox(t)
	projectKey := strings.Repeat("p", 40)
	keys := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(keys, []byte("shop challenge,verify "+projectKey+"\nother verify "+strings.Repeat("o", 40)+"\n"), 0o600))
	base, cmd, logs := startBinary(t, "SMTP_URL=smtp://user:smtp-password-9f3@"+mb.addr, "EMAIL_FROM=codes@example.com", "SSL_CERT_FILE="+mb.caFile,
		"API_KEYS_FILE="+keys)
	headers := map[string]string{"project_key": projectKey, "project_name": "shop"}
	status, _, got := postHeaders(t, base+"/2fa/requestotp", headers, map[string]any{"email": "carol@example.com",
		"metaData": map[string]any{"deviceName": "Pixel 8", "timeZone": "Europe/London", "ip": "203.0.113.9"}})
	require.Equal(t, http.StatusOK, status, "%v", got)
	token, _ := got["token"].(string)
	require.NotEmpty(t, token)
	require.Len(t, mb.all(), 1)
	_, body := parts(t, mb.all()[0].data)
	code := sixDigits.FindString(body["text/plain"])

	status, _, got = postHeaders(t, base+"/2fa/verifyotp", headers, map[string]any{"token": token, "otp": "000000"})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_otp", got["code"])
	status, _, got = postHeaders(t, base+"/2fa/verifyotp", headers, map[string]any{"token": token, "otp": code})
	require.Equal(t, http.StatusOK, status, "%v", got)
	assert.Equal(t, map[string]any{"valid": true}, got)
	status, _, got = postHeaders(t, base+"/2fa/verifyotp", headers, map[string]any{"token": token, "otp": code})
	assert.Equal(t, http.StatusBadRequest, status, "a code verifies once")
	assert.Contains(t, got["detail"], "replayed")

	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no key", map[string]string{"project_name": "shop"}, 401},
		{"the name in another case", map[string]string{"project_key": projectKey, "project_name": "Shop"}, 401},
		{"another key's name", map[string]string{"project_key": projectKey, "project_name": "other"}, 401},
		{"a key without the challenge scope", map[string]string{"project_key": strings.Repeat("o", 40), "project_name": "other"}, 403},
		{"the key as X-API-Key instead", map[string]string{"X-API-Key": projectKey, "project_name": "shop"}, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, _ := postHeaders(t, base+"/2fa/requestotp", tt.headers, map[string]any{"email": "carol@example.com"})
			assert.Equal(t, tt.want, status)
		})
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	_ = cmd.Wait()
	log := logs()
	assert.Contains(t, log, `"device_name":"Pixel 8"`)
	assert.Contains(t, log, `"time_zone":"Europe/London"`)
	assert.NotContains(t, log, "203.0.113.9", "nothing else of metaData is logged")
	assert.NotContains(t, log, code)
}

func postHeaders(t *testing.T, url string, headers map[string]string, body any) (int, string, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header[k] = []string{v} // as sent, project_key keeps its underscore and case
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got), "%s", raw)
	return resp.StatusCode, resp.Header.Get("Retry-After"), got
}
