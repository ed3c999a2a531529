package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
)

// SignatureHeader carries a webhook body's signature: "sha256=" and the
// hex HMAC-SHA256 of the raw body under the shared secret. A receiver
// computes the same over the bytes it got and compares in constant time
// (hmac.Equal), before it parses them.
const SignatureHeader = "X-Totp-Signature-256"

// Sign is body's signature, as SignatureHeader carries it.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is body's under secret.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// MinWebhookSecretLen keeps a webhook's secret from being guessable.
const MinWebhookSecretLen = 16

// Hook posts signed JSON to one URL.
type Hook struct {
	url    string
	secret []byte
	client *http.Client
	random io.Reader
}

// NewHook returns a Hook posting to rawURL, signed with secret.
func NewHook(rawURL string, secret []byte, random io.Reader) (*Hook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("a webhook URL must be an http(s) URL")
	}
	if len(secret) < MinWebhookSecretLen {
		return nil, fmt.Errorf("a webhook secret must be at least %d bytes", MinWebhookSecretLen)
	}
	if random == nil {
		random = rand.Reader
	}
	return &Hook{url: rawURL, secret: secret, client: &http.Client{Timeout: 5 * time.Second}, random: random}, nil
}

// Post sends v as JSON with its signature, retrying a receiver that
// cannot be reached or answers 429 or a 5xx until ctx ends. A 2xx is
// taken; any other answer is a refusal.
func (h *Hook) Post(ctx context.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sig := Sign(h.secret, body)
	_, err = retry(ctx, func(ctx context.Context) (Receipt, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
		if err != nil {
			return Receipt{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(SignatureHeader, sig)
		resp, err := h.client.Do(req)
		if err != nil {
			return Receipt{}, unreachable("webhook", errors.New("cannot reach the receiver"))
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return Receipt{}, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return Receipt{}, unreachable("webhook", fmt.Errorf("answered %d", resp.StatusCode))
		}
		f := ErrRefused.Explain("the receiver answered " + strconv.Itoa(resp.StatusCode))
		f.ProviderCode = strconv.Itoa(resp.StatusCode)
		return Receipt{}, f
	})
	return err
}

// WebhookMessage is the body DELIVERY_WEBHOOK_URL receives: everything a
// gateway needs to send the code itself.
type WebhookMessage struct {
	ID        string    `json:"id"`
	Channel   Channel   `json:"channel"`
	To        string    `json:"to"`
	Code      string    `json:"code"`
	Purpose   string    `json:"purpose"`
	ExpiresAt time.Time `json:"expires_at"`
	Locale    string    `json:"locale"`
}

// WebhookSender delivers codes by posting them to a gateway of the
// caller's own.
type WebhookSender struct{ hook *Hook }

// NewWebhookSender returns the sender posting to rawURL, signed with secret.
func NewWebhookSender(rawURL string, secret []byte, random io.Reader) (*WebhookSender, error) {
	h, err := NewHook(rawURL, secret, random)
	if err != nil {
		return nil, err
	}
	return &WebhookSender{h}, nil
}

// Send posts m with an ID of its own, which the receipt carries.
func (w *WebhookSender) Send(ctx context.Context, m Message) (Receipt, error) {
	var raw [12]byte
	if _, err := io.ReadFull(w.hook.random, raw[:]); err != nil {
		return Receipt{}, err
	}
	id := "wh_" + hex.EncodeToString(raw[:])
	err := w.hook.Post(ctx, WebhookMessage{ID: id, Channel: Webhook, To: m.To, Code: m.Code, Purpose: m.Purpose, ExpiresAt: m.ExpiresAt.UTC(), Locale: m.Locale})
	return Receipt{ID: id}, err
}
