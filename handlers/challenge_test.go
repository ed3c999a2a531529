package handlers_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client/api"
)

func TestChallengeFlow(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	w := a.do(t, http.MethodPost, "/challenge", `{"subject":"user@example.com","purpose":"login","digits":8,"ttl":300}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	iss := decode[api.ChallengeResponse](t, w)
	assert.Len(t, iss.Code, 8)
	assert.Equal(t, 300, iss.ExpiresIn)
	assert.Equal(t, "2023-11-14T22:18:20Z", iss.ExpiresAt)

	verify := func(code any, subject string) api.ChallengeVerifyResponse {
		w := a.do(t, http.MethodPost, "/challenge/verify", body(t, map[string]any{
			"challenge": iss.Challenge, "code": code, "subject": subject, "purpose": "login",
		}))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return decode[api.ChallengeVerifyResponse](t, w)
	}
	assert.Equal(t, api.ChallengeVerifyResponse{Reason: "wrong_subject"}, verify(iss.Code, "eve@example.com"))
	assert.Equal(t, api.ChallengeVerifyResponse{Reason: "mismatch"}, verify("00000000", "user@example.com"))
	n, err := strconv.Atoi(iss.Code)
	require.NoError(t, err)
	assert.Equal(t, api.ChallengeVerifyResponse{Valid: true, Subject: "user@example.com", Purpose: "login"},
		verify(n, "user@example.com"), "a number, padded to the challenge's digits")
	assert.Equal(t, api.ChallengeVerifyResponse{Reason: "replayed"}, verify(iss.Code, "user@example.com"))

	// Expiry, on the injected clock.
	w = a.do(t, http.MethodPost, "/challenge", `{"subject":"user@example.com","ttl":30}`)
	late := decode[api.ChallengeResponse](t, w)
	a.advance(30 * time.Second)
	w = a.do(t, http.MethodPost, "/challenge/verify", body(t, map[string]any{"challenge": late.Challenge, "code": late.Code, "subject": "user@example.com"}))
	assert.Equal(t, "expired", decode[api.ChallengeVerifyResponse](t, w).Reason)

	w = a.do(t, http.MethodPost, "/challenge/verify", `{"challenge":"bm90IGEgY2hhbGxlbmdl","code":"123456","subject":"user@example.com"}`)
	assert.Equal(t, "invalid_challenge", decode[api.ChallengeVerifyResponse](t, w).Reason)

	assert.NotContains(t, a.logs.String(), iss.Code)
	assert.NotContains(t, a.logs.String(), iss.Challenge[:20])
}

func TestChallengeAttemptLimitOverHTTP(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	iss := decode[api.ChallengeResponse](t, a.do(t, http.MethodPost, "/challenge", `{"subject":"+15550100"}`))
	verify := func(code string) string {
		w := a.do(t, http.MethodPost, "/challenge/verify", body(t, map[string]any{"challenge": iss.Challenge, "code": code, "subject": "+15550100"}))
		require.Equal(t, http.StatusOK, w.Code)
		return decode[api.ChallengeVerifyResponse](t, w).Reason
	}
	for range 5 {
		assert.Equal(t, "mismatch", verify("000000"))
	}
	assert.Equal(t, "too_many_attempts", verify(iss.Code))
}

func TestChallengesNeedTheGuard(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0), withoutGuard)
	iss := decode[api.ChallengeResponse](t, a.do(t, http.MethodPost, "/challenge", `{"subject":"a"}`))
	w := a.do(t, http.MethodPost, "/challenge/verify", body(t, map[string]any{"challenge": iss.Challenge, "code": iss.Code, "subject": "a"}))
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "guard_off", decode[api.Problem](t, w).Code)
}

func TestRecoveryCodesFlow(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	w := a.do(t, http.MethodPost, "/generate/recovery-codes", `{"count":4}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	got := decode[api.RecoveryCodesResponse](t, w)
	require.Len(t, got.Codes, 4)
	require.Len(t, got.Hashes, 4)

	w = a.do(t, http.MethodPost, "/generate/recovery-codes", "")
	require.Equal(t, http.StatusOK, w.Code, "no body: the default count")
	assert.Len(t, decode[api.RecoveryCodesResponse](t, w).Codes, 10)

	typed := strings.ToLower(strings.ReplaceAll(got.Codes[2], "-", " "))
	w = a.do(t, http.MethodPost, "/verify/recovery-code", body(t, map[string]any{"code": typed, "hashes": got.Hashes}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"valid":true,"index":2}`, w.Body.String())

	remaining := append(got.Hashes[:2:2], got.Hashes[3:]...)
	w = a.do(t, http.MethodPost, "/verify/recovery-code", body(t, map[string]any{"code": got.Codes[2], "hashes": remaining}))
	assert.False(t, decode[api.RecoveryVerifyResponse](t, w).Valid, "used and deleted")

	for range 5 {
		a.do(t, http.MethodPost, "/verify/recovery-code", body(t, map[string]any{"code": "0000-0000-0000-0000", "hashes": remaining}))
	}
	w = a.do(t, http.MethodPost, "/verify/recovery-code", body(t, map[string]any{"code": got.Codes[0], "hashes": remaining}))
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.NotContains(t, a.logs.String(), got.Codes[0])
}

func TestChallengeAndRecoveryBadInput(t *testing.T) {
	hash := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name      string
		url       string
		body      string
		wantCode  string
		wantField string
	}{
		{"no subject", "/challenge", `{}`, "missing_field", "subject"},
		{"long subject", "/challenge", `{"subject":"` + strings.Repeat("a", 321) + `"}`, "invalid_parameter", "subject"},
		{"long purpose", "/challenge", `{"subject":"a","purpose":"` + strings.Repeat("p", 65) + `"}`, "invalid_parameter", "purpose"},
		{"3 digits", "/challenge", `{"subject":"a","digits":3}`, "invalid_parameter", "digits"},
		{"11 digits", "/challenge", `{"subject":"a","digits":11}`, "invalid_parameter", "digits"},
		{"ttl 29", "/challenge", `{"subject":"a","ttl":29}`, "invalid_parameter", "ttl"},
		{"ttl huge", "/challenge", `{"subject":"a","ttl":9223372036854775807}`, "invalid_parameter", "ttl"},
		{"ttl negative", "/challenge", `{"subject":"a","ttl":-1}`, "invalid_parameter", "ttl"},
		{"typo", "/challenge", `{"subjet":"a"}`, "unknown_field", "subjet"},
		{"no challenge", "/challenge/verify", `{"code":"1","subject":"a"}`, "missing_field", "challenge"},
		{"no code", "/challenge/verify", `{"challenge":"x","subject":"a"}`, "missing_field", "code"},
		{"no subject to verify", "/challenge/verify", `{"challenge":"x","code":"1"}`, "missing_field", "subject"},
		{"count 0", "/generate/recovery-codes", `{"count":0}`, "invalid_parameter", "count"},
		{"count 21", "/generate/recovery-codes", `{"count":21}`, "invalid_parameter", "count"},
		{"no code to check", "/verify/recovery-code", `{"hashes":["` + hash + `"]}`, "missing_field", "code"},
		{"no hashes", "/verify/recovery-code", `{"code":"0000-0000-0000-0000"}`, "missing_field", "hashes"},
		{"21 hashes", "/verify/recovery-code", `{"code":"0000-0000-0000-0000","hashes":[` + strings.TrimSuffix(strings.Repeat(`"`+hash+`",`, 21), ",") + `]}`, "invalid_parameter", "hashes"},
		{"hash of another JSON type names its index", "/verify/recovery-code", `{"code":"0000-0000-0000-0000","hashes":["` + hash + `",7]}`, "invalid_parameter", "hashes[1]"},
		{"malformed hash names its index", "/verify/recovery-code", `{"code":"0000-0000-0000-0000","hashes":["` + hash + `","` + hash + `","sha1:00","` + hash + `"]}`, "invalid_parameter", "hashes[2]"},
	}
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(t, http.MethodPost, tt.url, tt.body)
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			p := decode[api.Problem](t, w)
			assert.Equal(t, tt.wantCode, p.Code)
			assert.Equal(t, tt.wantField, p.Field)
		})
	}
}
