package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/access"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/internal/apitest"
	"github.com/acme/totp/internal/redistest"
	"github.com/acme/totp/otp"
)

const guardSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"

func currentCode(t *testing.T, now time.Time) string {
	t.Helper()
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	code, err := key.Generate(now)
	require.NoError(t, err)
	return code.Token
}

func TestReplayIgnoresHowTheCodeIsWritten(t *testing.T) {
	// At this time the code has no leading zero, so it can travel as a number too.
	now := time.Unix(1_700_000_000, 0)
	code := currentCode(t, now)
	require.NotEqual(t, byte('0'), code[0])
	n, err := strconv.Atoi(code)
	require.NoError(t, err)

	a := newAPI(t, now)
	tests := []struct {
		name       string
		token      any
		wantValid  bool
		wantReason string
	}{
		{"first use", code + " ", true, ""},
		{"spaced", code[:3] + " " + code[3:], false, "replayed"},
		{"number", n, false, "replayed"},
		{"plain", code, false, "replayed"},
	}
	for _, tt := range tests {
		w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": tt.token}))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		got := decode[api.VerifyResponse](t, w)
		assert.Equal(t, tt.wantValid, got.Valid, tt.name)
		assert.Equal(t, tt.wantReason, got.Reason, tt.name)
	}

	// The same secret in another encoding is the same secret.
	w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": "12345678901234567890", "encoding": "ascii", "token": code}))
	assert.Equal(t, "replayed", decode[api.VerifyResponse](t, w).Reason)
}

// TestConcurrentReplay: fifty verifications of one valid code at once, one
// instance or two sharing Redis: exactly one is valid.
func TestConcurrentReplay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	code := currentCode(t, now)
	stores := []struct {
		name  string
		store func(t *testing.T) (guard.Store, guard.Store)
	}{
		{"memory", func(t *testing.T) (guard.Store, guard.Store) {
			m := guard.NewMemory(0)
			return m, m
		}},
		{"redis, two instances", func(t *testing.T) (guard.Store, guard.Store) {
			srv := redistest.Start(t)
			c1 := redis.NewClient(&redis.Options{Addr: srv.Addr})
			c2 := redis.NewClient(&redis.Options{Addr: srv.Addr})
			t.Cleanup(func() { c1.Close(); c2.Close() })
			return guard.NewRedis(c1, "t:"), guard.NewRedis(c2, "t:")
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s1, s2 := st.store(t)
			apis := []*testAPI{
				newAPI(t, now, func(c *apitest.Options) { c.Store = s1 }),
				newAPI(t, now, func(c *apitest.Options) { c.Store = s2 }),
			}
			var valid, replayed atomic.Int32
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					w := apis[i%2].do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": code}))
					if !assert.Equal(t, http.StatusOK, w.Code, w.Body.String()) {
						return
					}
					got := decode[api.VerifyResponse](t, w)
					if got.Valid {
						valid.Add(1)
					} else if got.Reason == "replayed" {
						replayed.Add(1)
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int32(1), valid.Load())
			assert.Equal(t, int32(49), replayed.Load())
		})
	}
}

func TestThrottleOverHTTP(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := newAPI(t, now)
	verify := func(token string) *httptest.ResponseRecorder {
		return a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": token}))
	}
	for range 5 {
		w := verify("12 34")
		assert.Equal(t, "malformed", decode[api.VerifyResponse](t, w).Reason, "malformed codes are not counted")
	}
	for i := range 5 {
		w := verify("000000")
		require.Equal(t, http.StatusOK, w.Code, "failure %d", i+1)
		assert.Equal(t, "mismatch", decode[api.VerifyResponse](t, w).Reason)
	}
	a.advance(90 * time.Second)

	for _, token := range []string{"000000", currentCode(t, a.Now())} {
		w := verify(token)
		require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
		assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		assert.Equal(t, "210", w.Header().Get("Retry-After"))
		p := decode[api.Problem](t, w)
		assert.Equal(t, "too_many_attempts", p.Code)
		assert.NotContains(t, p.Detail, token)
	}

	// Another secret is not locked.
	w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": "JBSWY3DPEHPK3PXP", "token": "000000"}))
	assert.Equal(t, http.StatusOK, w.Code)

	a.advance(210 * time.Second)
	w = verify(currentCode(t, a.Now()))
	require.Equal(t, http.StatusOK, w.Code)
	assert.True(t, decode[api.VerifyResponse](t, w).Valid, "the lock ends with the window")
}

// withoutGuard turns the guard off, as GUARD=off does.
func withoutGuard(c *apitest.Options) { c.Store = nil }

func TestAfterStepOverHTTP(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	step := otp.DefaultParams.Step(now)
	for _, guardOn := range []bool{true, false} {
		t.Run("guard "+map[bool]string{true: "on", false: "off"}[guardOn], func(t *testing.T) {
			a := newAPI(t, now, func(c *apitest.Options) {
				if !guardOn {
					c.Store = nil
				}
			})
			w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": currentCode(t, now), "after_step": step}))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			got := decode[api.VerifyResponse](t, w)
			assert.False(t, got.Valid)
			assert.Equal(t, "stale", got.Reason)

			w = a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": currentCode(t, now), "after_step": step - 1}))
			got = decode[api.VerifyResponse](t, w)
			assert.True(t, got.Valid)
			require.NotNil(t, got.Step)
			assert.Equal(t, step, *got.Step, "the step to store for the next after_step")
		})
	}
}

func TestGuardOffAcceptsReuse(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := newAPI(t, now, withoutGuard)
	for range 2 {
		w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": currentCode(t, now)}))
		assert.True(t, decode[api.VerifyResponse](t, w).Valid)
	}
}

// deadStore fails as an unreachable Redis does.
type deadStore struct{}

func (deadStore) Apply(context.Context, guard.Op) (guard.Outcome, error) {
	return guard.Outcome{}, redis.ErrClosed
}
func (deadStore) Ping(context.Context) error { return redis.ErrClosed }

func TestStoreUnavailable(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := newAPI(t, now, func(c *apitest.Options) { c.Store = deadStore{} })
	for _, token := range []string{currentCode(t, now), "000000"} {
		w := a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": token}))
		require.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "store_unavailable", decode[api.Problem](t, w).Code)
	}
	w := a.do(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "store_unavailable", decode[api.Problem](t, w).Code)
	w = a.do(t, http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, w.Code, "liveness does not depend on the store")

	ok := newAPI(t, now)
	w = ok.do(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"status":"ready"}`, w.Body.String())
}

// TestReadinessWhileStopping: once the instance is told to stop, readiness
// fails, so load balancers stop sending, while liveness and the API keep
// answering the last requests.
func TestReadinessWhileStopping(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	stopping := make(chan struct{})
	a := newAPI(t, now, func(c *apitest.Options) { c.Stopping = stopping })
	w := a.do(t, http.MethodGet, "/readyz", "")
	require.Equal(t, http.StatusOK, w.Code, "ready before the signal")

	close(stopping)
	w = a.do(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "shutting_down", decode[api.Problem](t, w).Code)
	w = a.do(t, http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, w.Code, "alive while it drains")
	w = a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": currentCode(t, now)}))
	assert.Equal(t, http.StatusOK, w.Code, "still answering")
	assert.True(t, decode[api.VerifyResponse](t, w).Valid)
}

// Keys of TestAPIKeys: one per scope, one with all, and a bare key.
var (
	keyOf = map[access.Scope]string{
		access.Enrol:     "enrol-key-of-thirty-two-bytes-at-least",
		access.Verify:    "verify-key-of-thirty-two-bytes-at-least",
		access.Reveal:    "reveal-key-of-thirty-two-bytes-at-least",
		access.Challenge: "challenge-key-of-thirty-two-bytes-at-least",
		access.Metrics:   "metrics-key-of-thirty-two-bytes-at-least",
		access.All:       "all-key-of-thirty-two-bytes-at-least",
	}
	bareKey = "bare-key-of-thirty-two-bytes-at-least"
)

func keyList() string {
	list := []string{bareKey}
	for scope, key := range keyOf {
		list = append(list, string(scope)+" "+string(scope)+" "+key)
	}
	return strings.Join(list, ",")
}

func TestAPIKeys(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0), func(c *apitest.Options) { c.Keys = apitest.Keys(t, keyList()) })
	tests := []struct {
		name   string
		path   string
		header string
		value  string
		want   int
	}{
		{"no key", "/generate/secret", "", "", 401},
		{"wrong key", "/generate/secret", "X-API-Key", "key-three-of-thirty-two-bytes-at-least", 401},
		{"prefix of a key", "/generate/secret", "X-API-Key", "enrol-key", 401},
		{"X-API-Key", "/generate/secret", "X-API-Key", keyOf[access.Enrol], 200},
		{"bare key: every scope", "/generate/secret", "X-API-Key", bareKey, 200},
		{"bearer", "/generate/secret", "Authorization", "Bearer " + keyOf[access.All], 200},
		{"basic is not bearer", "/generate/secret", "Authorization", "Basic " + keyOf[access.Enrol], 401},
		{"original routes too", "/auth/generate/secret/hex/16", "", "", 401},
		{"metrics need a key", "/metrics", "", "", 401},
		{"health open", "/healthz", "", "", 200},
		{"readiness open", "/readyz", "", "", 200},
		{"swagger open", "/swagger/index.html", "", "", 200},
		{"redirect open", "/", "", "", 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.header != "" {
				req.Header.Set(tt.header, tt.value)
			}
			w := httptest.NewRecorder()
			a.handler.ServeHTTP(w, req)
			require.Equal(t, tt.want, w.Code, w.Body.String())
			if tt.want == 401 {
				assert.Equal(t, "unauthorized", decode[api.Problem](t, w).Code)
				assert.NotEmpty(t, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	for _, key := range keyOf {
		assert.NotContains(t, a.logs.String(), key)
	}
	assert.Contains(t, a.logs.String(), `"key":"enrol"`, "the access line names the key")
}

// TestScopes: every keyed route, each key: a key with the route's scope
// (or all) passes authentication, every other key gets 403
// insufficient_scope naming the scope. The want table is written here,
// apart from the handlers' own: a route added without a scope, or with
// another, fails.
func TestScopes(t *testing.T) {
	want := map[string]access.Scope{
		"GET /generate/secret":                        access.Enrol,
		"POST /seal":                                  access.Enrol,
		"POST /reseal":                                access.Enrol,
		"POST /generate/recovery-codes":               access.Enrol,
		"GET /auth/generate/secret/:encoding/:length": access.Enrol,
		"POST /verify/token":                          access.Verify,
		"POST /hotp/verify":                           access.Verify,
		"POST /hotp/resync":                           access.Verify,
		"POST /verify/recovery-code":                  access.Verify,
		"POST /challenge/verify":                      access.Verify,
		"POST /auth/verify/token/:encoding":           access.Verify,
		"POST /2fa/verifyotp":                         access.Verify,
		"POST /challenge/resend":                      access.Challenge,
		"POST /2fa/requestotp":                        access.Challenge,
		"POST /trust":                                 access.Enrol,
		"POST /trust/verify":                          access.Verify,
		"POST /generate/token":                        access.Reveal,
		"POST /generate/qr":                           access.Reveal,
		"POST /hotp/token":                            access.Reveal,
		"POST /auth/generate/token/:encoding":         access.Reveal,
		"POST /challenge":                             access.Challenge,
		"GET /metrics":                                access.Metrics,
	}
	open := map[string]bool{"GET /": true, "GET /healthz": true, "GET /readyz": true, "GET /openapi.json": true, "GET /swagger/*any": true}
	a := newAPI(t, time.Unix(1_700_000_000, 0), func(c *apitest.Options) { c.Keys = apitest.Keys(t, keyList()) })
	engine, ok := a.handler.(*gin.Engine)
	require.True(t, ok)
	seen := 0
	for _, r := range engine.Routes() {
		route := r.Method + " " + r.Path
		if open[route] {
			continue
		}
		scope, listed := want[route]
		require.True(t, listed, "%s has no scope in this test's table", route)
		seen++
		path := strings.NewReplacer(":encoding", "hex", ":length", "16").Replace(r.Path)
		// The email OTP service's routes take the key as project_key with
		// its name, and need the challenge and verify scopes both.
		project := strings.HasPrefix(r.Path, "/2fa/")
		for keyScope, key := range keyOf {
			req := httptest.NewRequest(r.Method, path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", key)
			if project {
				req.Header.Set("project_key", key)
				req.Header.Set("project_name", string(keyScope))
			}
			w := httptest.NewRecorder()
			a.handler.ServeHTTP(w, req)
			if project && keyScope != access.All {
				require.Equal(t, http.StatusForbidden, w.Code, "%s with the %s key", route, keyScope)
				assert.Equal(t, "challenge,verify", decode[api.Problem](t, w).Scope)
				continue
			}
			if keyScope == scope || keyScope == access.All {
				assert.NotContains(t, []int{401, 403}, w.Code, "%s with the %s key: %s", route, keyScope, w.Body.String())
				continue
			}
			require.Equal(t, http.StatusForbidden, w.Code, "%s with the %s key", route, keyScope)
			p := decode[api.Problem](t, w)
			assert.Equal(t, "insufficient_scope", p.Code)
			assert.Equal(t, string(scope), p.Scope)
		}
	}
	assert.Equal(t, len(want), seen, "every route of the table is served")
	assert.Equal(t, want, handlers.RouteScopes())
}

// TestWrongKeysThrottled: past 20 wrong keys in a minute from one address,
// that address is answered 429, even with a right key, until the minute
// passes; another address is not.
func TestWrongKeysThrottled(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0), func(c *apitest.Options) { c.Keys = apitest.Keys(t, keyList()) })
	get := func(peer, key string) int {
		req := httptest.NewRequest(http.MethodGet, "/generate/secret", nil)
		req.RemoteAddr = peer + ":1234"
		req.Header.Set("X-API-Key", key)
		w := httptest.NewRecorder()
		a.handler.ServeHTTP(w, req)
		return w.Code
	}
	for i := range handlers.MaxWrongKeys {
		require.Equal(t, 401, get("198.51.100.7", fmt.Sprintf("wrong-%d-of-thirty-two-bytes-at-least", i)))
	}
	assert.Equal(t, 429, get("198.51.100.7", "one more wrong key of thirty-two bytes"))
	assert.Equal(t, 429, get("198.51.100.7", keyOf[access.Enrol]), "a right key too, within the minute")
	assert.Equal(t, 200, get("203.0.113.9", keyOf[access.Enrol]), "another address")
	a.advance(time.Minute)
	assert.Equal(t, 200, get("198.51.100.7", keyOf[access.Enrol]), "the next minute")
}

// TestFloodNeitherRevivesACodeNorLiftsALock is the attack on a bounded
// store: wrong codes for many other secrets, sent to fill it, must not
// make a used code valid again nor unlock a locked secret; a verification
// that needs a new record once the store is full is refused (503
// store_full, Retry-After), counted, and warned about once.
func TestFloodNeitherRevivesACodeNorLiftsALock(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	var logs strings.Builder
	var a *testAPI
	a = newAPI(t, start, func(c *apitest.Options) {
		c.Store = guard.NewMemory(100)
		c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	verify := func(secret, token string, skew int) *httptest.ResponseRecorder {
		req := map[string]any{"secret": secret, "token": token, "skew": skew}
		if len(secret) == 40 {
			req["encoding"] = "hex"
		}
		return a.do(t, http.MethodPost, "/verify/token", body(t, req))
	}
	code := currentCode(t, start)
	require.True(t, decode[api.VerifyResponse](t, verify(guardSecret, code, 1)).Valid)
	const locked = "KRSXG5DTMVRXEZLUKRSXG5DTMVRXEZLU"
	for range apitest.MaxFailures + 1 {
		verify(locked, "000000", 1)
	}

	full := 0
	for i := range 1000 {
		a.advance(75 * time.Millisecond) // 75 s in all, inside every record's life
		w := verify(fmt.Sprintf("%040x", i+1), "000000", 1)
		if w.Code == http.StatusServiceUnavailable {
			full++
			assert.Equal(t, "store_full", decode[api.Problem](t, w).Code)
			assert.NotEmpty(t, w.Header().Get("Retry-After"))
			continue
		}
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	assert.Greater(t, full, 800, "the flood filled the store and was refused")

	w := verify(guardSecret, code, 10)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[api.VerifyResponse](t, w)
	assert.False(t, got.Valid)
	assert.Equal(t, "replayed", got.Reason)

	lockedCode, err := otp.NewKey([]byte("TestsecretTestsecret"), otp.DefaultParams)
	require.NoError(t, err)
	c, err := lockedCode.Generate(a.Now())
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, verify(locked, c.Token, 1).Code, "the lock holds")

	// Wrong codes for the used secret still count, full store or not: ten
	// of them lock it rather than answer 503 uncounted.
	var statuses []int
	for range apitest.MaxFailures + 1 {
		statuses = append(statuses, verify(guardSecret, "000000", 1).Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, statuses[len(statuses)-1], "counted, and locked: %v", statuses)
	assert.NotContains(t, statuses, http.StatusServiceUnavailable)

	scrape := a.do(t, http.MethodGet, "/metrics", "").Body.String()
	assert.Contains(t, scrape, fmt.Sprintf("totp_verifications_total{result=\"store_full\"} %d", full))
	assert.Contains(t, scrape, fmt.Sprintf("totp_guard_store_refused_total %d", full))
	assert.Contains(t, scrape, fmt.Sprintf("totp_guard_refusals_total{key=\"none\",reason=\"store_full\"} %d", full))
	assert.Contains(t, scrape, "totp_guard_store_records 100")
	assert.Contains(t, scrape, "totp_guard_store_capacity 100")
	assert.Equal(t, 1, strings.Count(logs.String(), "guard store full"), "one warning, not one a request")
}

// TestFloodInRedis is the same attack on the Redis store, which keeps
// every key until its TTL (with maxmemory-policy noeviction, as the README
// asks): the used code stays replayed and the lock holds.
func TestFloodInRedis(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	start := time.Unix(1_700_000_000, 0)
	a := newAPI(t, start, func(c *apitest.Options) { c.Store = guard.NewRedis(client, "flood:") })
	verify := func(secret, encoding, token string, skew int) *httptest.ResponseRecorder {
		return a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": secret, "encoding": encoding, "token": token, "skew": skew}))
	}
	code := currentCode(t, start)
	require.True(t, decode[api.VerifyResponse](t, verify(guardSecret, "base32", code, 1)).Valid)
	const locked = "KRSXG5DTMVRXEZLUKRSXG5DTMVRXEZLU"
	for range apitest.MaxFailures + 1 {
		verify(locked, "base32", "000000", 1)
	}
	for i := range 5000 {
		a.advance(15 * time.Millisecond) // 75 s in all
		w := verify(fmt.Sprintf("%040x", i+1), "hex", "000000", 1)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	got := decode[api.VerifyResponse](t, verify(guardSecret, "base32", code, 10))
	assert.Equal(t, "replayed", got.Reason)
	key, err := otp.NewKey([]byte("TestsecretTestsecret"), otp.DefaultParams)
	require.NoError(t, err)
	c, err := key.Generate(a.Now())
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, verify(locked, "base32", c.Token, 1).Code, "the lock holds")
}
