package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	potp "github.com/pquerna/otp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/internal/apitest"
	"github.com/acme/totp/otp"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	m.Run()
}

// testAPI is the service as main wires it by default (see apitest), on a
// settable clock, whose log lines are kept for inspection.
type testAPI struct {
	handler http.Handler
	mu      sync.Mutex
	now     time.Time
	logs    *bytes.Buffer
}

func (a *testAPI) Now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

func (a *testAPI) advance(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = a.now.Add(d)
}

// newAPI returns the API at now; change lets a test set keys or a store.
func newAPI(t testing.TB, now time.Time, change ...func(*apitest.Options)) *testAPI {
	t.Helper()
	a := &testAPI{now: now, logs: new(bytes.Buffer)}
	cfg := apitest.Config(a.Now, a.logs)
	for _, f := range change {
		f(&cfg)
	}
	h, err := cfg.Handler()
	require.NoError(t, err)
	a.handler = h
	return a
}

// hotp is key's code for counter.
func hotp(t testing.TB, key otp.Key, counter uint64) string {
	t.Helper()
	code, err := key.HOTP(counter)
	require.NoError(t, err)
	return code
}

func (a *testAPI) do(t testing.TB, method, url, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, req)
	return w
}

func decode[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), "body: %s", w.Body.String())
	return v
}

func body(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// RFC 6238 Appendix B, written in hex so every algorithm's seed travels the
// same way.
var rfcSeedsHex = map[string]string{
	"SHA1":   "3132333435363738393031323334353637383930",
	"SHA256": "3132333435363738393031323334353637383930313233343536373839303132",
	"SHA512": "31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334",
}

var rfcVectors = []struct {
	unix int64
	want map[string]string
}{
	{59, map[string]string{"SHA1": "94287082", "SHA256": "46119246", "SHA512": "90693936"}},
	{1111111109, map[string]string{"SHA1": "07081804", "SHA256": "68084774", "SHA512": "25091201"}},
	{1111111111, map[string]string{"SHA1": "14050471", "SHA256": "67062674", "SHA512": "99943326"}},
	{1234567890, map[string]string{"SHA1": "89005924", "SHA256": "91819424", "SHA512": "93441116"}},
	{2000000000, map[string]string{"SHA1": "69279037", "SHA256": "90698825", "SHA512": "38618901"}},
	{20000000000, map[string]string{"SHA1": "65353130", "SHA256": "77737706", "SHA512": "47863826"}},
}

func TestRFC6238OverHTTP(t *testing.T) {
	for _, v := range rfcVectors {
		for alg, want := range v.want {
			t.Run(alg+"/"+time.Unix(v.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
				a := newAPI(t, time.Unix(v.unix, 0))
				req := map[string]any{"secret": rfcSeedsHex[alg], "encoding": "hex", "algorithm": strings.ToLower(alg), "digits": 8}

				w := a.do(t, http.MethodPost, "/generate/token", body(t, req))
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				got := decode[api.TokenResponse](t, w)
				assert.Equal(t, want, got.Token)
				assert.Equal(t, uint64(v.unix/30), got.Step)
				assert.Equal(t, 30-int(v.unix%30), got.Remaining)
				assert.Equal(t, 30, got.Period)

				req["token"] = want
				req["skew"] = 0
				w = a.do(t, http.MethodPost, "/verify/token", body(t, req))
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				ver := decode[map[string]any](t, w)
				assert.Equal(t, true, ver["valid"])
				assert.EqualValues(t, v.unix/30, ver["step"])
				assert.EqualValues(t, 0, ver["drift"])
			})
		}
	}
}

func TestEveryEncodingGivesTheSameCode(t *testing.T) {
	a := newAPI(t, time.Unix(1111111109, 0))
	tests := []struct {
		name   string
		url    string
		secret string
		enc    string // in the body; empty to leave it out
	}{
		{"base32 default", "/generate/token", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", ""},
		{"base32 lower case spaced", "/generate/token", "gezd gnbv gy3t qojq gezd gnbv gy3t qojq", "base32"},
		{"hex", "/generate/token", "3132333435363738393031323334353637383930", "hex"},
		{"base64", "/generate/token", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "base64"},
		{"base64 unpadded", "/generate/token", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA", "base64"},
		{"ascii", "/generate/token", "12345678901234567890", "ascii"},
		{"encoding in query", "/generate/token?encoding=ascii", "12345678901234567890", ""},
		{"body wins over query", "/generate/token?encoding=hex", "12345678901234567890", "ascii"},
		{"original route", "/auth/generate/token/ascii", "12345678901234567890", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := map[string]any{"secret": tt.secret, "digits": 8}
			if tt.enc != "" {
				req["encoding"] = tt.enc
			}
			w := a.do(t, http.MethodPost, tt.url, body(t, req))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Equal(t, "07081804", decode[api.TokenResponse](t, w).Token)
		})
	}
}

func TestVerifyToken(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	now := time.Unix(1111111109, 0) // SHA1 8-digit code 07081804, 1 s left
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.Params{Algorithm: otp.SHA1, Digits: 8, Period: 30})
	require.NoError(t, err)
	step := uint64(1111111109 / 30)
	prev, next := hotp(t, key, step-1), hotp(t, key, step+1)

	tests := []struct {
		name      string
		token     any
		skew      any // nil to leave out
		wantValid bool
		wantStep  any
		wantDrift any
		want      string // reason
	}{
		{"string", "07081804", nil, true, float64(step), float64(0), ""},
		{"number loses its leading zero", 7081804, nil, true, float64(step), float64(0), ""},
		{"spaces inside", "0708 1804", nil, true, float64(step), float64(0), ""},
		{"previous step", prev, nil, true, float64(step - 1), float64(-1), ""},
		{"next step", next, nil, true, float64(step + 1), float64(1), ""},
		{"previous step with skew 0", prev, 0, false, nil, nil, "mismatch"},
		{"wrong code", "12345678", nil, false, nil, nil, "mismatch"},
		{"too short", "0708180", nil, false, nil, nil, "malformed"},
		{"too long", "070818041", nil, false, nil, nil, "malformed"},
		{"letters", "0708180a", nil, false, nil, nil, "malformed"},
		{"negative number", -7081804, nil, false, nil, nil, "malformed"},
		{"fraction", 7081804.5, nil, false, nil, nil, "malformed"},
		{"number too long", 123456789, nil, false, nil, nil, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, now)
			req := map[string]any{"secret": secret, "token": tt.token, "digits": 8}
			if tt.skew != nil {
				req["skew"] = tt.skew
			}
			w := a.do(t, http.MethodPost, "/verify/token", body(t, req))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			got := decode[map[string]any](t, w)
			assert.Equal(t, tt.wantValid, got["valid"])
			assert.Equal(t, tt.wantStep, got["step"])
			assert.Equal(t, tt.wantDrift, got["drift"])
			assert.Equal(t, float64(1), got["remaining"])
			if tt.want == "" {
				assert.NotContains(t, got, "reason")
			} else {
				assert.Equal(t, tt.want, got["reason"])
			}
		})
	}
}

func TestVerifyAtSmallTimesNeverGoesBelowStepZero(t *testing.T) {
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	for _, tt := range []struct {
		name  string
		token string
		valid bool
	}{
		{"step 0", hotp(t, key, 0), true},
		{"step 2^64-1, what a wrapped counter would accept", hotp(t, key, ^uint64(0)), hotp(t, key, ^uint64(0)) == hotp(t, key, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, time.Unix(10, 0))
			w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{
				"secret": "12345678901234567890", "encoding": "ascii", "token": tt.token, "skew": 10,
			}))
			require.Equal(t, http.StatusOK, w.Code)
			got := decode[api.VerifyResponse](t, w)
			assert.Equal(t, tt.valid, got.Valid)
			assert.Equal(t, 20, got.Remaining)
		})
	}
}

func TestGenerateSecret(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	tests := []struct {
		name     string
		url      string
		encoding string
		length   int
		decode   func(string) ([]byte, error)
	}{
		{"defaults", "/generate/secret", "base32", 20, otp.Base32.Decode},
		{"hex 16", "/generate/secret?length=16&encoding=hex", "hex", 16, otp.Hex.Decode},
		{"base64 128", "/generate/secret?length=128&encoding=base64", "base64", 128, otp.Base64.Decode},
		{"original route", "/auth/generate/secret/hex/32", "hex", 32, otp.Hex.Decode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, http.MethodGet, tt.url, "")
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			got := decode[api.SecretResponse](t, w)
			assert.Equal(t, tt.encoding, got.Encoding)
			assert.Equal(t, tt.length, got.Length)
			raw, err := tt.decode(got.Secret)
			require.NoError(t, err)
			assert.Len(t, raw, tt.length)
			assert.Empty(t, got.URI)
			assert.Empty(t, got.QR)
			if tt.encoding == "base32" {
				assert.NotContains(t, got.Secret, "=")
				assert.Equal(t, strings.ToUpper(got.Secret), got.Secret)
			}
		})
	}

	t.Run("two secrets differ", func(t *testing.T) {
		first := decode[api.SecretResponse](t, a.do(t, http.MethodGet, "/generate/secret", ""))
		second := decode[api.SecretResponse](t, a.do(t, http.MethodGet, "/generate/secret", ""))
		assert.NotEqual(t, first.Secret, second.Secret)
	})
}

func TestGenerateSecretWithURIAndQR(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	w := a.do(t, http.MethodGet, "/generate/secret?encoding=hex&account=alice%40example.com&issuer=Acme%20Co&algorithm=sha256&digits=8&period=60&qr=200", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[api.SecretResponse](t, w)

	assert.True(t, strings.HasPrefix(got.URI, "otpauth://totp/Acme%20Co:alice%40example.com?"), got.URI)
	assert.NotContains(t, got.URI, "+")
	assert.NotContains(t, w.Body.String(), `\u0026`, "the URI should read as it is")
	key, err := potp.NewKeyFromURL(got.URI)
	require.NoError(t, err)
	assert.Equal(t, "Acme Co", key.Issuer())
	assert.Equal(t, "alice@example.com", key.AccountName())
	assert.Equal(t, potp.AlgorithmSHA256, key.Algorithm())
	assert.Equal(t, potp.DigitsEight, key.Digits())
	assert.Equal(t, uint64(60), key.Period())
	// The URI carries base32 whatever encoding the answer uses.
	raw, err := otp.Hex.Decode(got.Secret)
	require.NoError(t, err)
	fromURI, err := otp.Base32.Decode(key.Secret())
	require.NoError(t, err)
	assert.Equal(t, raw, fromURI)

	data, ok := strings.CutPrefix(got.QR, "data:image/png;base64,")
	require.True(t, ok, got.QR[:min(len(got.QR), 40)])
	pngBytes, err := base64.StdEncoding.DecodeString(data)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(pngBytes))
	require.NoError(t, err)
	assert.Equal(t, 200, img.Bounds().Dx())
	assert.Equal(t, 200, img.Bounds().Dy())
}

func TestGenerateQR(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	tests := []struct {
		name string
		req  map[string]any
		want int
	}{
		{"default size", map[string]any{"secret": "JBSWY3DPEHPK3PXP", "account": "bob"}, 256},
		{"given size", map[string]any{"secret": "JBSWY3DPEHPK3PXP", "account": "bob", "issuer": "Acme", "size": 512}, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, http.MethodPost, "/generate/qr", body(t, tt.req))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Equal(t, "image/png", w.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			img, err := png.Decode(w.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.want, img.Bounds().Dx())
			assert.Equal(t, tt.want, img.Bounds().Dy())
		})
	}
}

// TestBadInput walks every kind of bad input: each is a 4xx problem+json
// with a stable code and the field at fault, never a 500.
func TestBadInput(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	tests := []struct {
		name      string
		method    string
		url       string
		body      string
		wantCode  string
		wantField string
		status    int
	}{
		{"malformed JSON", "POST", "/generate/token", `{"secret":`, "invalid_json", "", 400},
		{"not JSON", "POST", "/generate/token", `secret=abc`, "invalid_json", "", 400},
		{"empty body", "POST", "/generate/token", ``, "invalid_json", "", 400},
		{"array", "POST", "/generate/token", `[]`, "invalid_json", "", 400},
		{"trailing data", "POST", "/generate/token", `{"secret":"` + secret + `"} {}`, "invalid_json", "", 400},
		{"trailing garbage", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456"}x`, "invalid_json", "", 400},
		{"trailing garbage past the decoder's buffer", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456"}` + strings.Repeat(" ", 5000) + "x", "invalid_json", "", 400},
		{"secret not a string", "POST", "/generate/token", `{"secret":123}`, "invalid_parameter", "secret", 400},
		{"digits not a number", "POST", "/generate/token", `{"secret":"` + secret + `","digits":"6"}`, "invalid_parameter", "digits", 400},
		{"token a boolean", "POST", "/verify/token", `{"secret":"` + secret + `","token":true}`, "invalid_parameter", "token", 400},
		{"token an object", "POST", "/verify/token", `{"secret":"` + secret + `","token":{}}`, "invalid_parameter", "token", 400},
		{"unknown field", "POST", "/generate/token", `{"secret":"` + secret + `","algoritm":"SHA256"}`, "unknown_field", "algoritm", 400},
		// A proxy that reads the first secret and a decoder that keeps the
		// last would disagree about which secret was verified.
		{"duplicate secret", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456","secret":"GEZDGNBVGY3TQOJQ"}`, "invalid_json", "secret", 400},
		{"duplicate token", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456","token":"654321"}`, "invalid_json", "token", 400},
		{"name in upper case", "POST", "/verify/token", `{"SECRET":"` + secret + `","token":"123456"}`, "unknown_field", "SECRET", 400},
		{"name in title case", "POST", "/verify/token", `{"secret":"` + secret + `","Token":"123456"}`, "unknown_field", "Token", 400},
		{"name with long s (U+017F)", "POST", "/verify/token", `{"ſecret":"` + secret + `","token":"123456"}`, "unknown_field", "ſecret", 400},
		{"invalid UTF-8", "POST", "/generate/token", "{\"secret\":\"" + secret + "\xff\"}", "invalid_json", "", 400},
		{"semicolon in query", "POST", "/generate/token?encoding=hex;", `{"secret":"` + secret + `"}`, "invalid_parameter", "", 400},
		{"query name not UTF-8", "GET", "/generate/secret?%B9=1", "", "unknown_field", "\uFFFD", 400},
		{"long query name cut inside a character", "GET", "/generate/secret?" + strings.Repeat("a", 63) + "%C3%A9=1", "", "unknown_field", strings.Repeat("a", 63) + "\uFFFD", 400},
		{"query parameter twice", "GET", "/generate/secret?encoding=hex&encoding=base64", "", "invalid_parameter", "encoding", 400},
		{"unknown query parameter", "POST", "/generate/token?encodng=hex", `{"secret":"` + secret + `"}`, "unknown_field", "encodng", 400},
		{"missing secret", "POST", "/generate/token", `{}`, "missing_field", "secret", 400},
		{"null body", "POST", "/generate/token", `null`, "missing_field", "secret", 400},
		{"missing token", "POST", "/verify/token", `{"secret":"` + secret + `"}`, "missing_field", "token", 400},
		{"empty token", "POST", "/verify/token", `{"secret":"` + secret + `","token":""}`, "missing_field", "token", 400},
		{"unknown encoding", "POST", "/generate/token", `{"secret":"` + secret + `","encoding":"base58"}`, "invalid_parameter", "encoding", 400},
		{"unknown encoding in query", "POST", "/generate/token?encoding=base58", `{"secret":"` + secret + `"}`, "invalid_parameter", "encoding", 400},
		{"unknown algorithm", "POST", "/generate/token", `{"secret":"` + secret + `","algorithm":"MD5"}`, "invalid_parameter", "algorithm", 400},
		{"secret not base32", "POST", "/generate/token", `{"secret":"not base32!"}`, "invalid_secret", "secret", 400},
		{"secret not hex", "POST", "/generate/token", `{"secret":"xyz","encoding":"hex"}`, "invalid_secret", "secret", 400},
		{"secret short", "POST", "/generate/token", `{"secret":"JBSWY3DP"}`, "invalid_secret", "secret", 400},
		{"secret long", "POST", "/generate/token", `{"secret":"` + strings.Repeat("a", 1025) + `","encoding":"ascii"}`, "invalid_secret", "secret", 400},
		{"digits 5", "POST", "/generate/token", `{"secret":"` + secret + `","digits":5}`, "invalid_parameter", "digits", 400},
		{"digits 9", "POST", "/generate/token", `{"secret":"` + secret + `","digits":9}`, "invalid_parameter", "digits", 400},
		{"digits 0", "POST", "/generate/token", `{"secret":"` + secret + `","digits":0}`, "invalid_parameter", "digits", 400},
		{"digits huge", "POST", "/generate/token", `{"secret":"` + secret + `","digits":99999999999999999999}`, "invalid_parameter", "digits", 400},
		{"period 0", "POST", "/generate/token", `{"secret":"` + secret + `","period":0}`, "invalid_parameter", "period", 400},
		{"period 3601", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456","period":3601}`, "invalid_parameter", "period", 400},
		{"period negative", "POST", "/generate/token", `{"secret":"` + secret + `","period":-30}`, "invalid_parameter", "period", 400},
		{"skew 11", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456","skew":11}`, "invalid_parameter", "skew", 400},
		{"skew negative", "POST", "/verify/token", `{"secret":"` + secret + `","token":"123456","skew":-1}`, "invalid_parameter", "skew", 400},
		{"body too large", "POST", "/verify/token", `{"secret":"` + strings.Repeat("A", handlers.MaxBodyBytes) + `"}`, "body_too_large", "", 413},
		{"length 15", "GET", "/generate/secret?length=15", "", "invalid_parameter", "length", 400},
		{"length 129", "GET", "/generate/secret?length=129", "", "invalid_parameter", "length", 400},
		{"length not a number", "GET", "/generate/secret?length=abc", "", "invalid_parameter", "length", 400},
		{"secret in ascii", "GET", "/generate/secret?encoding=ascii", "", "invalid_parameter", "encoding", 400},
		{"unknown secret encoding", "GET", "/generate/secret?encoding=base58", "", "invalid_parameter", "encoding", 400},
		{"typo in query", "GET", "/generate/secret?lenght=32", "", "unknown_field", "lenght", 400},
		{"colon in account", "GET", "/generate/secret?account=a:b", "", "invalid_parameter", "account", 400},
		{"colon in issuer", "GET", "/generate/secret?account=a&issuer=Ac:me", "", "invalid_parameter", "issuer", 400},
		{"issuer without account", "GET", "/generate/secret?issuer=Acme", "", "missing_field", "account", 400},
		{"qr without account", "GET", "/generate/secret?qr=256", "", "missing_field", "account", 400},
		{"qr too small", "GET", "/generate/secret?account=a&qr=63", "", "invalid_parameter", "qr", 400},
		{"qr too large", "GET", "/generate/secret?account=a&qr=1025", "", "invalid_parameter", "qr", 400},
		{"account too long", "GET", "/generate/secret?account=" + strings.Repeat("a", 257), "", "invalid_parameter", "account", 400},
		{"uri digits 9", "GET", "/generate/secret?account=a&digits=9", "", "invalid_parameter", "digits", 400},
		{"qr missing account", "POST", "/generate/qr", `{"secret":"` + secret + `"}`, "missing_field", "account", 400},
		{"qr size 32", "POST", "/generate/qr", `{"secret":"` + secret + `","account":"a","size":32}`, "invalid_parameter", "size", 400},
		{"qr colon", "POST", "/generate/qr", `{"secret":"` + secret + `","account":"a:b"}`, "invalid_parameter", "account", 400},
		{"original route ascii secret", "GET", "/auth/generate/secret/ascii/20", "", "invalid_parameter", "encoding", 400},
		{"original route bad length", "GET", "/auth/generate/secret/hex/abc", "", "invalid_parameter", "length", 400},
		{"original route bad encoding", "POST", "/auth/verify/token/base58", `{"secret":"` + secret + `","token":"123456"}`, "invalid_parameter", "encoding", 400},
		{"unknown path", "GET", "/nope", "", "not_found", "", 404},
		{"wrong method", "GET", "/verify/token", "", "method_not_allowed", "", 405},
	}
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, tt.method, tt.url, tt.body)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			got := decode[api.Problem](t, w)
			assert.Equal(t, tt.wantCode, got.Code)
			assert.Equal(t, tt.wantField, got.Field)
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, "urn:totp:problem:"+tt.wantCode, got.Type)
			assert.Equal(t, http.StatusText(tt.status), got.Title)
			assert.NotEmpty(t, got.Detail)
			assert.NotContains(t, got.Detail, secret, "a detail must never echo the secret")
			assert.NotContains(t, got.Detail, "123456", "a detail must never echo the token")
		})
	}
}

// TestContentType: a body is read as JSON when it says it is JSON or says
// nothing; a form or text is refused, which a browser on another site could
// send without asking.
func TestContentType(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	tests := []struct {
		name        string
		contentType string
		want        int
	}{
		{"none: what a page on another site sends without asking", "", http.StatusUnsupportedMediaType},
		{"json", "application/json", http.StatusOK},
		{"json with charset", "application/json; charset=utf-8", http.StatusOK},
		{"a +json type", "application/vnd.acme+json", http.StatusOK},
		{"form", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"text", "text/plain", http.StatusUnsupportedMediaType},
		{"unparsable", "application/json; =", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/generate/token", strings.NewReader(`{"secret":"JBSWY3DPEHPK3PXP"}`))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			a.handler.ServeHTTP(w, req)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.want != http.StatusOK {
				assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
				assert.Equal(t, "unsupported_media_type", decode[api.Problem](t, w).Code)
			}
		})
	}
}

// TestBodyWithoutLength: a chunked body, whose length is not known ahead,
// is read to its end to find what follows the object.
func TestBodyWithoutLength(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	for _, tt := range []struct {
		name string
		body string
		want int
	}{
		{"white space after", `{"secret":"JBSWY3DPEHPK3PXP"}` + strings.Repeat(" \n", 3000), http.StatusOK},
		{"garbage after", `{"secret":"JBSWY3DPEHPK3PXP"}` + strings.Repeat(" ", 3000) + "{}", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/generate/token", io.NopCloser(strings.NewReader(tt.body)))
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = -1
			w := httptest.NewRecorder()
			a.handler.ServeHTTP(w, req)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
		})
	}
}

func TestMethodNotAllowedListsAllow(t *testing.T) {
	a := newAPI(t, time.Now())
	w := a.do(t, http.MethodDelete, "/generate/secret", "")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "GET", w.Header().Get("Allow"))
}

func TestHeadersAndRequestID(t *testing.T) {
	a := newAPI(t, time.Now())
	tests := []struct {
		name     string
		give     string
		wantEcho bool
	}{
		{"echoed", "abc-123", true},
		{"made when absent", "", false},
		{"made when unprintable", "bad\x01id", false},
		{"made when too long", strings.Repeat("x", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/generate/secret", nil)
			if tt.give != "" {
				req.Header.Set("X-Request-ID", tt.give)
			}
			w := httptest.NewRecorder()
			a.handler.ServeHTTP(w, req)
			got := w.Header().Get("X-Request-ID")
			if tt.wantEcho {
				assert.Equal(t, tt.give, got)
			} else {
				assert.Len(t, got, 24)
			}
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			assert.Contains(t, a.logs.String(), `"request_id":"`+got+`"`)
		})
	}
}

func TestHealthAndSwagger(t *testing.T) {
	a := newAPI(t, time.Now())
	w := a.do(t, http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"status":"ok","version":"test"}`, w.Body.String())

	w = a.do(t, http.MethodGet, "/", "")
	assert.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "/swagger/index.html", w.Header().Get("Location"))

	w = a.do(t, http.MethodGet, "/swagger/index.html", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "swagger-ui")

	for _, asset := range []struct{ path, contentType, contains string }{
		{"/swagger/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"/swagger/swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8", "SwaggerUIStandalonePreset"},
		{"/swagger/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"},
		{"/swagger/favicon-32x32.png", "image/png", "PNG"},
	} {
		w = a.do(t, http.MethodGet, asset.path, "")
		require.Equal(t, http.StatusOK, w.Code, asset.path)
		assert.Equal(t, asset.contentType, w.Header().Get("Content-Type"), asset.path)
		assert.Contains(t, w.Body.String(), asset.contains, asset.path)
	}
	w = a.do(t, http.MethodGet, "/swagger/index.css", "")
	require.Equal(t, http.StatusOK, w.Code, "the index's style, which gin-swagger writes")
	w = a.do(t, http.MethodGet, "/swagger/swagger-initializer.js", "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"/openapi.json"`, "Swagger UI must load this service's OpenAPI 3 document, not the petstore")

	w = a.do(t, http.MethodGet, "/swagger/", "")
	assert.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "/swagger/index.html", w.Header().Get("Location"))

	// gin-swagger answers its own 404s, in plain text: they are Swagger
	// UI's static paths, not the API's.
	for _, path := range []string{"/swagger/nope.js", "/swagger/../main.go", "/swagger/%2e%2e/go.mod", "/swagger/dist"} {
		w = a.do(t, http.MethodGet, path, "")
		assert.Equal(t, http.StatusNotFound, w.Code, path)
		assert.NotContains(t, w.Body.String(), "package main", path)
	}

	w = a.do(t, http.MethodGet, "/swagger/doc.json", "")
	require.Equal(t, http.StatusOK, w.Code)
	spec := decode[struct {
		Paths map[string]map[string]struct {
			Deprecated bool `json:"deprecated"`
		} `json:"paths"`
	}](t, w)
	for _, path := range []string{"/generate/secret", "/generate/token", "/verify/token", "/generate/qr", "/healthz", "/readyz", "/challenge", "/challenge/verify", "/generate/recovery-codes", "/verify/recovery-code"} {
		assert.Contains(t, spec.Paths, path)
	}
	assert.True(t, spec.Paths["/auth/verify/token/{encoding}"]["post"].Deprecated)
}

// TestOpenAPIDocument: /openapi.json is the OpenAPI 3 document, with every
// route the router serves (but the probes' and docs' own), each with an
// operationId, and every error answer as problem+json.
func TestOpenAPIDocument(t *testing.T) {
	a := newAPI(t, time.Now())
	w := a.do(t, http.MethodGet, "/openapi.json", "")
	require.Equal(t, http.StatusOK, w.Code)
	doc := decode[struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Responses   map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}](t, w)
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."), doc.OpenAPI)
	ids := map[string]bool{}
	for _, r := range a.handler.(*gin.Engine).Routes() {
		path := regexp.MustCompile(`:(\w+)`).ReplaceAllString(r.Path, "{$1}")
		if path == "/" || path == "/metrics" || path == "/openapi.json" || strings.HasPrefix(path, "/swagger/") {
			continue
		}
		op, ok := doc.Paths[path][strings.ToLower(r.Method)]
		if !assert.True(t, ok, "%s %s is not documented", r.Method, path) {
			continue
		}
		assert.NotEmpty(t, op.OperationID, path)
		assert.False(t, ids[op.OperationID], "operationId %s twice", op.OperationID)
		ids[op.OperationID] = true
		for code, resp := range op.Responses {
			if code >= "400" {
				assert.Contains(t, resp.Content, "application/problem+json", "%s %s %s", r.Method, path, code)
				assert.NotContains(t, resp.Content, "application/json", "%s %s %s", r.Method, path, code)
			}
		}
	}
}

// TestSecretsNeverLogged sends secrets and codes through every route and
// looks for them in the log.
func TestSecretsNeverLogged(t *testing.T) {
	const secret = "KRSXG5DTMVRXEZLUKRSXG5DTMVRXEZLU"
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	code := decode[api.TokenResponse](t, a.do(t, http.MethodPost, "/generate/token", `{"secret":"`+secret+`"}`)).Token
	a.do(t, http.MethodPost, "/verify/token", `{"secret":"`+secret+`","token":"`+code+`"}`)
	a.do(t, http.MethodPost, "/verify/token", `{"secret":"`+secret+`","token":"`+code+`","bogus":1}`)
	a.do(t, http.MethodPost, "/generate/qr", `{"secret":"`+secret+`","account":"carol"}`)
	w := a.do(t, http.MethodGet, "/generate/secret?account=carol", "")
	generated := decode[api.SecretResponse](t, w).Secret

	logs := a.logs.String()
	require.NotEmpty(t, logs)
	for _, s := range []string{secret, code, generated, "carol"} {
		assert.NotContains(t, logs, s)
	}
}
