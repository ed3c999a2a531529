// Package client calls the TOTP service from Go: one method per endpoint,
// with the request and response types of package api, which the service's
// handlers use too, so the two cannot drift.
//
//	c, err := client.New("http://totp:8080", client.WithAPIKey(key))
//	res, err := c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear(secret), Token: api.TokenOf(code)})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acme/totp/client/api"
)

// Client calls one instance or load balancer of the service. It is safe
// for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	apiKey  string
	timeout time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through h instead of http.DefaultClient.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTimeout bounds each call, on top of its context's deadline.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithAPIKey sends key with every call, as X-API-Key.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// New returns a Client for the service at baseURL, such as
// "http://totp:8080".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL must be http(s)://host[:port], not %q", baseURL)
	}
	c := &Client{base: u, http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	// A copy of the HTTP client that follows no redirect to another host:
	// Go would send X-API-Key along to wherever a redirect points.
	h := *c.http
	next := h.CheckRedirect
	h.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != u.Host || req.URL.Scheme != u.Scheme {
			return fmt.Errorf("client: refused a redirect to %s, away from %s", req.URL.Host, u.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("client: stopped after 10 redirects")
		}
		return nil
	}
	c.http = &h
	return c, nil
}

// Error is a problem+json answer of the service, or another answer that
// was not a success. Match it with errors.As.
type Error struct {
	Status int    // HTTP status
	Code   string // stable, for programs: invalid_secret, too_many_attempts, ...
	Field  string // the request field at fault, if one is
	Detail string // for people
	// RetryAfter is the service's Retry-After, on a 429.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("totp service: %d %s", e.Status, e.Code)
	if e.Field != "" {
		msg += " (" + e.Field + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Int returns a pointer to n, for the optional numbers of requests.
func Int(n int) *int { return &n }

// GenerateSecret calls GET /generate/secret.
func (c *Client) GenerateSecret(ctx context.Context, q api.SecretQuery) (*api.SecretResponse, error) {
	return call[api.SecretResponse](ctx, c, http.MethodGet, "/generate/secret", q.Values(), nil)
}

// GenerateToken calls POST /generate/token.
func (c *Client) GenerateToken(ctx context.Context, req api.TokenRequest) (*api.TokenResponse, error) {
	return call[api.TokenResponse](ctx, c, http.MethodPost, "/generate/token", nil, req)
}

// VerifyToken calls POST /verify/token. A wrong code is not an error: it
// is a response with Valid false and a Reason.
func (c *Client) VerifyToken(ctx context.Context, req api.VerifyRequest) (*api.VerifyResponse, error) {
	return call[api.VerifyResponse](ctx, c, http.MethodPost, "/verify/token", nil, req)
}

// QR calls POST /generate/qr and returns the PNG.
func (c *Client) QR(ctx context.Context, req api.QRRequest) ([]byte, error) {
	var png bytes.Buffer
	if err := c.do(ctx, http.MethodPost, "/generate/qr", nil, req, &png); err != nil {
		return nil, err
	}
	return png.Bytes(), nil
}

// Seal calls POST /seal: a secret held in the clear (or a Key URI) sealed
// for storing instead, bound to req.Context.
func (c *Client) Seal(ctx context.Context, req api.SealRequest) (*api.SealResponse, error) {
	return call[api.SealResponse](ctx, c, http.MethodPost, "/seal", nil, req)
}

// Reseal calls POST /reseal: a sealed secret under the key that seals now.
// Store the answer's Sealed and KeyID when Rotated.
func (c *Client) Reseal(ctx context.Context, req api.ResealRequest) (*api.ResealResponse, error) {
	return call[api.ResealResponse](ctx, c, http.MethodPost, "/reseal", nil, req)
}

// HOTPToken calls POST /hotp/token: the code of a counter.
func (c *Client) HOTPToken(ctx context.Context, req api.HOTPTokenRequest) (*api.HOTPTokenResponse, error) {
	return call[api.HOTPTokenResponse](ctx, c, http.MethodPost, "/hotp/token", nil, req)
}

// HOTPVerify calls POST /hotp/verify: whether a code is one of the counters
// from req.Counter to req.Counter+look_ahead; store NextCounter.
func (c *Client) HOTPVerify(ctx context.Context, req api.HOTPVerifyRequest) (*api.HOTPVerifyResponse, error) {
	return call[api.HOTPVerifyResponse](ctx, c, http.MethodPost, "/hotp/verify", nil, req)
}

// HOTPResync calls POST /hotp/resync: the counter after two codes typed in a
// row; store NextCounter.
func (c *Client) HOTPResync(ctx context.Context, req api.HOTPResyncRequest) (*api.HOTPVerifyResponse, error) {
	return call[api.HOTPVerifyResponse](ctx, c, http.MethodPost, "/hotp/resync", nil, req)
}

// IssueChallenge calls POST /challenge.
func (c *Client) IssueChallenge(ctx context.Context, req api.ChallengeRequest) (*api.ChallengeResponse, error) {
	return call[api.ChallengeResponse](ctx, c, http.MethodPost, "/challenge", nil, req)
}

// Resend calls POST /challenge/resend: the same code of a challenge the
// service sent (api.ChallengeRequest's Channel), the same way.
func (c *Client) Resend(ctx context.Context, req api.ChallengeResendRequest) (*api.ChallengeResponse, error) {
	return call[api.ChallengeResponse](ctx, c, http.MethodPost, "/challenge/resend", nil, req)
}

// Trust calls POST /trust: a token for a device's cookie, once the user
// passed the second factor on it.
func (c *Client) Trust(ctx context.Context, req api.TrustRequest) (*api.TrustResponse, error) {
	return call[api.TrustResponse](ctx, c, http.MethodPost, "/trust", nil, req)
}

// TrustVerify calls POST /trust/verify; a Valid answer carries the token
// refreshed, for the cookie.
func (c *Client) TrustVerify(ctx context.Context, req api.TrustVerifyRequest) (*api.TrustVerifyResponse, error) {
	return call[api.TrustVerifyResponse](ctx, c, http.MethodPost, "/trust/verify", nil, req)
}

// VerifyChallenge calls POST /challenge/verify.
func (c *Client) VerifyChallenge(ctx context.Context, req api.ChallengeVerifyRequest) (*api.ChallengeVerifyResponse, error) {
	return call[api.ChallengeVerifyResponse](ctx, c, http.MethodPost, "/challenge/verify", nil, req)
}

// GenerateRecoveryCodes calls POST /generate/recovery-codes.
func (c *Client) GenerateRecoveryCodes(ctx context.Context, req api.RecoveryCodesRequest) (*api.RecoveryCodesResponse, error) {
	return call[api.RecoveryCodesResponse](ctx, c, http.MethodPost, "/generate/recovery-codes", nil, req)
}

// VerifyRecoveryCode calls POST /verify/recovery-code.
func (c *Client) VerifyRecoveryCode(ctx context.Context, req api.RecoveryVerifyRequest) (*api.RecoveryVerifyResponse, error) {
	return call[api.RecoveryVerifyResponse](ctx, c, http.MethodPost, "/verify/recovery-code", nil, req)
}

// Health calls GET /healthz.
func (c *Client) Health(ctx context.Context) (*api.HealthResponse, error) {
	return call[api.HealthResponse](ctx, c, http.MethodGet, "/healthz", nil, nil)
}

// call sends one request and returns its decoded answer.
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, in any) (*T, error) {
	var out T
	if err := c.do(ctx, method, path, query, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// do sends one request and decodes a success into out: JSON, or the raw
// body when out is a *bytes.Buffer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json, image/png")
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errorFrom(resp)
	}
	if buf, ok := out.(*bytes.Buffer); ok {
		_, err = buf.ReadFrom(resp.Body)
	} else {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		return fmt.Errorf("client: %s %s: read answer: %w", method, path, err)
	}
	return nil
}

// errorFrom turns an answer that is not a success into an *Error.
func errorFrom(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p api.Problem
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && json.Unmarshal(body, &p) == nil && p.Code != "" {
		e.Code, e.Field, e.Detail = p.Code, p.Field, p.Detail
	} else {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	return e
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
