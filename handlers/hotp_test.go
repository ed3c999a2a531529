package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/otp"
)

// rfc4226 is RFC 4226 Appendix D for the secret "12345678901234567890".
var rfc4226 = []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}

func TestRFC4226OverHTTP(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	for counter, want := range rfc4226 {
		w := a.do(t, http.MethodPost, "/hotp/token", body(t, map[string]any{"secret": guardSecret, "counter": counter}))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		got := decode[api.HOTPTokenResponse](t, w)
		assert.Equal(t, want, got.Token)
		assert.Equal(t, uint64(counter), got.Counter)
	}
	// A token's codes in order: each verifies once, at the counter the
	// last answer said to store.
	next := uint64(0)
	for counter, code := range rfc4226 {
		w := a.do(t, http.MethodPost, "/hotp/verify", body(t, map[string]any{"secret": guardSecret, "token": code, "counter": next}))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		got := decode[api.HOTPVerifyResponse](t, w)
		require.True(t, got.Valid, "counter %d", counter)
		assert.Equal(t, uint64(counter), *got.Counter)
		next = *got.NextCounter
		assert.Equal(t, uint64(counter+1), next)
	}
}

func TestHOTPReplayAndLookAhead(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	verify := func(token string, counter uint64, lookAhead any) api.HOTPVerifyResponse {
		req := map[string]any{"secret": guardSecret, "token": token, "counter": counter}
		if lookAhead != nil {
			req["look_ahead"] = lookAhead
		}
		w := a.do(t, http.MethodPost, "/hotp/verify", body(t, req))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return decode[api.HOTPVerifyResponse](t, w)
	}
	got := verify(rfc4226[5], 0, nil)
	require.True(t, got.Valid, "five presses ahead, inside the default look-ahead of 10")
	assert.Equal(t, uint64(6), *got.NextCounter)
	assert.Equal(t, "replayed", verify(rfc4226[5], 0, nil).Reason, "the same counter again")
	assert.Equal(t, "replayed", verify(rfc4226[3], 0, nil).Reason, "a lower counter")
	assert.Equal(t, "mismatch", verify(rfc4226[9], 0, 3).Reason, "past a look-ahead of 3")
	assert.True(t, verify(rfc4226[9], 6, 3).Valid)

	// TOTP of the same secret goes on: HOTP counters and TOTP steps are
	// recorded apart.
	w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": currentCode(t, a.Now())}))
	assert.True(t, decode[api.VerifyResponse](t, w).Valid)
}

func TestHOTPResyncOverHTTP(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	resync := func(c1, c2 uint64) *api.HOTPVerifyResponse {
		w := a.do(t, http.MethodPost, "/hotp/resync", body(t, map[string]any{
			"secret": guardSecret, "token": hotp(t, key, c1), "token2": hotp(t, key, c2), "counter": 10,
		}))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		got := decode[api.HOTPVerifyResponse](t, w)
		return &got
	}
	assert.Equal(t, "mismatch", resync(60, 62).Reason, "two codes, not in a row")
	got := resync(60, 61)
	require.True(t, got.Valid)
	assert.Equal(t, uint64(61), *got.Counter)
	assert.Equal(t, uint64(62), *got.NextCounter)
	assert.Equal(t, "replayed", resync(60, 61).Reason)
}

func TestAsymmetricWindowOverHTTP(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	step := otp.DefaultParams.Step(now)
	tests := []struct {
		name   string
		offset int64
		req    map[string]any
		want   bool
	}{
		{"past only accepts the previous step", -1, map[string]any{"skew_past": 1}, true},
		{"past only refuses the next step", 1, map[string]any{"skew_past": 1}, false},
		{"future only accepts the next step", 1, map[string]any{"skew_future": 1}, true},
		{"future only refuses the previous step", -1, map[string]any{"skew_future": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, now)
			tt.req["secret"], tt.req["token"] = guardSecret, hotp(t, key, uint64(int64(step)+tt.offset))
			w := a.do(t, http.MethodPost, "/verify/token", body(t, tt.req))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			assert.Equal(t, tt.want, decode[api.VerifyResponse](t, w).Valid)
		})
	}
}

func TestSteamOverHTTP(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	w := a.do(t, http.MethodPost, "/generate/token", `{"secret":"`+guardSecret+`","encoder":"steam"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	token := decode[api.TokenResponse](t, w).Token
	assert.Len(t, token, 5)
	w = a.do(t, http.MethodPost, "/verify/token", `{"secret":"`+guardSecret+`","encoder":"steam","token":"`+strings.ToLower(token)+`"}`)
	assert.True(t, decode[api.VerifyResponse](t, w).Valid)

	w = a.do(t, http.MethodGet, "/generate/secret?account=gamer&issuer=Steam&encoder=steam", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, decode[api.SecretResponse](t, w).URI, "&digits=5&period=30&encoder=steam")
}

func TestGenerateHOTPSecret(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	w := a.do(t, http.MethodGet, "/generate/secret?type=hotp&counter=7&account=alice%40example.com&issuer=Acme&qr=128", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[api.SecretResponse](t, w)
	assert.True(t, strings.HasPrefix(got.URI, "otpauth://hotp/Acme:alice%40example.com?"), got.URI)
	assert.True(t, strings.HasSuffix(got.URI, "&counter=7"), got.URI)
	assert.NotContains(t, got.URI, "period=")
	k, err := potp.NewKeyFromURL(got.URI)
	require.NoError(t, err)
	assert.Equal(t, "hotp", k.Type())
	assert.NotEmpty(t, got.QR)
}

func TestHOTPBadInput(t *testing.T) {
	tests := []struct {
		name, url, body     string
		wantCode, wantField string
	}{
		{"no counter", "/hotp/token", `{"secret":"` + guardSecret + `"}`, "missing_field", "counter"},
		{"negative counter", "/hotp/token", `{"secret":"` + guardSecret + `","counter":-1}`, "invalid_parameter", "counter"},
		{"a period, which HOTP has not", "/hotp/token", `{"secret":"` + guardSecret + `","counter":1,"period":30}`, "unknown_field", "period"},
		{"no token", "/hotp/verify", `{"secret":"` + guardSecret + `","counter":1}`, "missing_field", "token"},
		{"look-ahead 101", "/hotp/verify", `{"secret":"` + guardSecret + `","counter":1,"token":"123456","look_ahead":101}`, "invalid_parameter", "look_ahead"},
		{"resync look-ahead 1001", "/hotp/resync", `{"secret":"` + guardSecret + `","counter":1,"token":"123456","token2":"123456","look_ahead":1001}`, "invalid_parameter", "look_ahead"},
		{"resync without token2", "/hotp/resync", `{"secret":"` + guardSecret + `","counter":1,"token":"123456"}`, "missing_field", "token2"},
		{"unknown encoder", "/hotp/token", `{"secret":"` + guardSecret + `","counter":1,"encoder":"base26"}`, "invalid_parameter", "encoder"},
		{"steam with 6 digits", "/generate/token", `{"secret":"` + guardSecret + `","encoder":"steam","digits":6}`, "invalid_parameter", "digits"},
		{"skew and skew_past", "/verify/token", `{"secret":"` + guardSecret + `","token":"123456","skew":1,"skew_past":1}`, "invalid_parameter", "skew"},
		{"skew_past 11", "/verify/token", `{"secret":"` + guardSecret + `","token":"123456","skew_past":11}`, "invalid_parameter", "skew_past"},
		{"skew_future negative", "/verify/token", `{"secret":"` + guardSecret + `","token":"123456","skew_future":-1}`, "invalid_parameter", "skew_future"},
	}
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, http.MethodPost, tt.url, tt.body)
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			got := decode[api.Problem](t, w)
			assert.Equal(t, tt.wantCode, got.Code)
			assert.Equal(t, tt.wantField, got.Field)
		})
	}
	for _, q := range []struct{ query, field string }{
		{"type=hotp", "counter"}, {"counter=5", "counter"}, {"type=motp", "type"}, {"type=hotp&counter=-1", "counter"},
	} {
		w := a.do(t, http.MethodGet, "/generate/secret?"+q.query, "")
		require.Equal(t, http.StatusBadRequest, w.Code, q.query)
		assert.Equal(t, q.field, decode[api.Problem](t, w).Field, q.query)
	}
}
