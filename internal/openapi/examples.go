package main

import (
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/acme/totp/access"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/internal/apitest"
	"github.com/acme/totp/otp"
)

// exampleKeys are the keys of the examples that need one configured.
var exampleKeys = func() *access.Ring {
	keys, err := access.ParseList(strings.Repeat("example-key-", 3))
	if err != nil {
		panic(err)
	}
	return access.NewRing(keys)
}()

// now is the clock of every recorded answer, so the document is the same
// at every run.
var now = time.Unix(1_700_000_000, 0)

// exampleSecret is the secret of the documented requests: RFC 6238's seed.
const exampleSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// route is where an operation is served.
type route struct{ method, path string }

// routes are the operations that take an API key, where each is served.
var routes = map[string]route{
	"generateSecret": {"GET", "/generate/secret"}, "generateQR": {"POST", "/generate/qr"},
	"generateToken": {"POST", "/generate/token"}, "verifyToken": {"POST", "/verify/token"},
	"sealSecret": {"POST", "/seal"}, "resealSecret": {"POST", "/reseal"},
	"hotpToken": {"POST", "/hotp/token"}, "hotpVerify": {"POST", "/hotp/verify"}, "hotpResync": {"POST", "/hotp/resync"},
	"issueChallenge": {"POST", "/challenge"}, "verifyChallenge": {"POST", "/challenge/verify"},
	"resendChallenge": {"POST", "/challenge/resend"},
	"requestOTP":      {"POST", "/2fa/requestotp"}, "verifyOTP": {"POST", "/2fa/verifyotp"},
	"issueTrust": {"POST", "/trust"}, "verifyTrust": {"POST", "/trust/verify"},
	"generateRecoveryCodes": {"POST", "/generate/recovery-codes"}, "verifyRecoveryCode": {"POST", "/verify/recovery-code"},
	"legacyGenerateSecret": {"GET", "/auth/generate/secret/base32/20"},
	"legacyGenerateToken":  {"POST", "/auth/generate/token/base32"},
	"legacyVerifyToken":    {"POST", "/auth/verify/token/base32"},
}

// spec is one example: a service configured by change, and the requests
// that make it answer want.
type spec struct {
	op, name, summary string
	want              int
	change            func(*apitest.Options)
	run               func(h http.Handler) *httptest.ResponseRecorder
}

func send(h http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// call is a spec of one request.
func call(op, name, summary string, want int, method, path, body string) spec {
	return spec{op: op, name: name, summary: summary, want: want, run: func(h http.Handler) *httptest.ResponseRecorder {
		return send(h, method, path, body)
	}}
}

// post is a spec of one request to op's route.
func post(op, name, summary string, want int, body string) spec {
	r := routes[op]
	return call(op, name, summary, want, r.method, r.path, body)
}

// after is a spec of setup requests, then one request to op's route.
func after(op, name, summary string, want int, setup func(h http.Handler), body string) spec {
	s := post(op, name, summary, want, body)
	run := s.run
	s.run = func(h http.Handler) *httptest.ResponseRecorder { setup(h); return run(h) }
	return s
}

func with(s spec, change func(*apitest.Options)) spec { s.change = change; return s }

// code is the example secret's code at now.
func code(p otp.Params, counter *uint64) string {
	raw, _ := otp.DecodeSecret("base32", exampleSecret)
	key, err := otp.NewKey(raw, p)
	if err != nil {
		panic(err)
	}
	if counter != nil {
		c, _ := key.HOTP(*counter)
		return c
	}
	c, _ := key.Generate(now)
	return c.Token
}

// failFive makes five wrong attempts at path, which locks the secret.
func failFive(path, body string) func(h http.Handler) {
	return func(h http.Handler) {
		for range 5 {
			send(h, "POST", path, body)
		}
	}
}

// stopping is a service told to stop.
func stopping(c *apitest.Options) {
	stopped := make(chan struct{})
	close(stopped)
	c.Stopping = stopped
}

func deadStore(c *apitest.Options) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	_ = client.Close() // every command now fails at once
	c.Store = guard.NewRedis(client, "totp:")
}

func noGuard(c *apitest.Options)    { c.Store = nil }
func noSealKeys(c *apitest.Options) { c.SealKeys = nil }
func fullStore(c *apitest.Options)  { c.Store = guard.NewMemory(1) }

func specs() []spec {
	s := exampleSecret
	zero := uint64(0)
	verifyBody := `{"secret":"` + s + `","token":"000000"}`
	hotpBody := `{"secret":"` + s + `","token":"000000","counter":0}`
	resyncBody := `{"secret":"` + s + `","token":"000000","token2":"000000","counter":0}`
	uri := "otpauth://totp/Acme:alice?secret=" + s + "&issuer=Acme"
	list := []spec{
		call("generateSecret", "invalid_parameter", "an option out of range", 400, "GET", "/generate/secret?account=alice&digits=9", ""),
		call("generateSecret", "unknown_field", "a misspelt parameter", 400, "GET", "/generate/secret?lenght=32", ""),
		call("generateSecret", "conflicting_field", "context without seal=true", 400, "GET", "/generate/secret?context=user-42", ""),
		with(call("generateSecret", "sealing_not_configured", "seal=true without SEAL_KEYS", 501, "GET", "/generate/secret?seal=true", ""), noSealKeys),

		post("generateQR", "missing_field", "no account", 400, `{"secret":"`+s+`"}`),
		post("generateQR", "invalid_parameter", "a size out of range", 400, `{"secret":"`+s+`","account":"alice","size":2000}`),
		post("generateQR", "invalid_uri", "a uri that is not otpauth://totp", 400, `{"uri":"otpauth://hotp/a?secret=`+s+`&counter=0"}`),
		with(post("generateQR", "sealing_not_configured", "sealed without SEAL_KEYS", 501, `{"sealed":"s1.test.AAAA","account":"alice"}`), noSealKeys),

		post("generateToken", "missing_field", "no secret, sealed or uri", 400, `{}`),
		post("generateToken", "invalid_secret", "a secret that does not decode", 400, `{"secret":"not base32!"}`),
		post("generateToken", "invalid_parameter", "an option out of range", 400, `{"secret":"`+s+`","digits":9}`),
		post("generateToken", "unknown_field", "a misspelt field", 400, `{"secret":"`+s+`","algoritm":"SHA256"}`),
		post("generateToken", "invalid_json", "a field given twice", 400, `{"secret":"`+s+`","secret":"JBSWY3DPEHPK3PXP"}`),
		post("generateToken", "conflicting_field", "an option beside sealed", 400, `{"sealed":"s1.test.AAAA","digits":8}`),
		post("generateToken", "invalid_sealed", "sealed that does not open", 400, `{"sealed":"s1.test.AAAA","context":"user-42"}`),
		post("generateToken", "invalid_uri", "a malformed uri", 400, `{"uri":"otpauth://totp/a?secret=`+s+`&digits=six"}`),
		with(post("generateToken", "sealing_not_configured", "sealed without SEAL_KEYS", 501, `{"sealed":"s1.test.AAAA"}`), noSealKeys),

		post("verifyToken", "valid", "the code in force now", 200, `{"secret":"`+s+`","token":"`+code(otp.DefaultParams, nil)+`"}`),
		post("verifyToken", "mismatch", "a wrong code", 200, verifyBody),
		after("verifyToken", "replayed", "a code already accepted", 200, func(h http.Handler) {
			send(h, "POST", "/verify/token", `{"secret":"`+s+`","token":"`+code(otp.DefaultParams, nil)+`"}`)
		}, `{"secret":"`+s+`","token":"`+code(otp.DefaultParams, nil)+`"}`),
		post("verifyToken", "missing_field", "no token", 400, `{"secret":"`+s+`"}`),
		post("verifyToken", "invalid_parameter", "a window out of range", 400, `{"secret":"`+s+`","token":"123456","skew":11}`),
		post("verifyToken", "conflicting_field", "two forms of the secret", 400, `{"secret":"`+s+`","uri":"`+uri+`","token":"123456"}`),
		post("verifyToken", "invalid_sealed", "sealed that does not open", 400, `{"sealed":"s1.test.AAAA","context":"user-42","token":"123456"}`),
		after("verifyToken", "too_many_attempts", "five wrong codes in the window", 429, failFive("/verify/token", verifyBody), verifyBody),
		with(post("verifyToken", "store_unavailable", "the guard's Redis cannot be reached", 503, verifyBody), deadStore),
		with(after("verifyToken", "store_full", "the in-memory guard store holds all it may", 503, func(h http.Handler) {
			send(h, "POST", "/verify/token", `{"secret":"JBSWY3DPEHPK3PXP","token":"000000"}`)
		}, verifyBody), fullStore),
		with(post("verifyToken", "sealing_not_configured", "sealed without SEAL_KEYS", 501, `{"sealed":"s1.test.AAAA","token":"123456"}`), noSealKeys),

		post("sealSecret", "missing_field", "nothing to seal", 400, `{"context":"user-42"}`),
		post("sealSecret", "invalid_uri", "a uri without a secret", 400, `{"uri":"otpauth://totp/a?digits=8"}`),
		post("sealSecret", "conflicting_field", "an option beside uri", 400, `{"uri":"`+uri+`","digits":8}`),
		with(post("sealSecret", "sealing_not_configured", "no SEAL_KEYS", 501, `{"secret":"`+s+`"}`), noSealKeys),

		post("resealSecret", "invalid_sealed", "sealed that does not open", 400, `{"sealed":"s1.test.AAAA","context":"user-42"}`),
		post("resealSecret", "missing_field", "no sealed", 400, `{}`),
		with(post("resealSecret", "sealing_not_configured", "no SEAL_KEYS", 501, `{"sealed":"s1.test.AAAA"}`), noSealKeys),

		post("hotpToken", "missing_field", "no counter", 400, `{"secret":"`+s+`"}`),
		post("hotpToken", "unknown_field", "period, which HOTP has not", 400, `{"secret":"`+s+`","counter":0,"period":30}`),

		post("hotpVerify", "valid", "the code of a counter in the look-ahead", 200, `{"secret":"`+s+`","token":"`+code(otp.DefaultParams, &zero)+`","counter":0}`),
		post("hotpVerify", "mismatch", "a wrong code", 200, hotpBody),
		post("hotpVerify", "invalid_parameter", "a look-ahead out of range", 400, `{"secret":"`+s+`","token":"123456","counter":0,"look_ahead":101}`),
		after("hotpVerify", "too_many_attempts", "five wrong codes in the window", 429, failFive("/hotp/verify", hotpBody), hotpBody),
		with(post("hotpVerify", "store_unavailable", "the guard's Redis cannot be reached", 503, hotpBody), deadStore),

		post("hotpResync", "missing_field", "no second code", 400, `{"secret":"`+s+`","token":"123456","counter":0}`),
		after("hotpResync", "too_many_attempts", "five wrong codes in the window", 429, failFive("/hotp/resync", resyncBody), resyncBody),
		with(post("hotpResync", "store_unavailable", "the guard's Redis cannot be reached", 503, resyncBody), deadStore),

		post("issueChallenge", "missing_field", "no subject", 400, `{"purpose":"login"}`),
		post("issueChallenge", "invalid_parameter", "a ttl out of range", 400, `{"subject":"alice@example.com","ttl":5}`),

		post("verifyChallenge", "invalid_challenge", "a challenge that does not open", 200, `{"challenge":"c1.c.AAAA","code":"123456","subject":"alice@example.com"}`),
		post("verifyChallenge", "missing_field", "no code", 400, `{"challenge":"c1.c.AAAA","subject":"alice@example.com"}`),
		with(post("verifyChallenge", "guard_off", "GUARD=off", 503, `{"challenge":"c1.c.AAAA","code":"123456","subject":"alice@example.com"}`), noGuard),

		post("generateRecoveryCodes", "invalid_parameter", "a count out of range", 400, `{"count":21}`),

		post("verifyRecoveryCode", "mismatch", "a code that is none of the hashes", 200, `{"code":"7KQ2-M4XD-9HRT-PBWC","hashes":["sha256:`+strings.Repeat("0", 64)+`"]}`),
		post("verifyRecoveryCode", "invalid_parameter", "a malformed hash", 400, `{"code":"7KQ2-M4XD-9HRT-PBWC","hashes":["md5:00"]}`),
		after("verifyRecoveryCode", "too_many_attempts", "five wrong codes in the window", 429,
			failFive("/verify/recovery-code", `{"code":"7KQ2-M4XD-9HRT-PBWC","hashes":["sha256:`+strings.Repeat("0", 64)+`"]}`),
			`{"code":"7KQ2-M4XD-9HRT-PBWC","hashes":["sha256:`+strings.Repeat("0", 64)+`"]}`),
		with(post("verifyRecoveryCode", "store_unavailable", "the guard's Redis cannot be reached", 503, `{"code":"7KQ2-M4XD-9HRT-PBWC","hashes":["sha256:`+strings.Repeat("0", 64)+`"]}`), deadStore),

		with(call("getReadiness", "store_unavailable", "the guard's Redis cannot be reached", 503, "GET", "/readyz", ""), deadStore),
		with(call("getReadiness", "shutting_down", "SIGTERM received: the last requests are being answered", 503, "GET", "/readyz", ""), stopping),

		call("legacyGenerateSecret", "invalid_parameter", "ascii cannot carry random bytes", 400, "GET", "/auth/generate/secret/ascii/20", ""),
		call("legacyGenerateToken", "invalid_parameter", "an unknown encoding", 400, "POST", "/auth/generate/token/base58", `{"secret":"`+s+`"}`),
		call("legacyVerifyToken", "invalid_parameter", "an unknown encoding", 400, "POST", "/auth/verify/token/base58", verifyBody),
		post("legacyVerifyToken", "mismatch", "a wrong code", 200, verifyBody),
		after("legacyVerifyToken", "too_many_attempts", "five wrong codes in the window", 429, failFive("/auth/verify/token/base32", verifyBody), verifyBody),
		with(post("legacyVerifyToken", "store_unavailable", "the guard's Redis cannot be reached", 503, verifyBody), deadStore),
	}

	// Every keyed route: no API key, a body too large, a body not JSON.
	for op, r := range routes {
		list = append(list, with(spec{op: op, name: "unauthorized", summary: "API keys are configured and none was sent", want: 401,
			run: func(h http.Handler) *httptest.ResponseRecorder { return send(h, r.method, r.path, "") }},
			func(c *apitest.Options) { c.Keys = exampleKeys }))
		if r.method != "POST" {
			continue
		}
		list = append(list,
			post(op, "body_too_large", "a body over 64 KiB", 413, `{"secret":"`+strings.Repeat("A", handlers.MaxBodyBytes)+`"}`),
			spec{op: op, name: "unsupported_media_type", summary: "a body sent as a form", want: 415,
				run: func(h http.Handler) *httptest.ResponseRecorder {
					return send(h, r.method, r.path, "secret="+s, "Content-Type", "application/x-www-form-urlencoded")
				}})
	}
	return list
}

// tableOnly are answers for docs/errors.md that no operation declares:
// they may come from any route.
const tableOnly = "-"

// extras records the codes any route may answer, for the error table
// only.
func extras() []spec {
	verify := `{"secret":"` + exampleSecret + `","token":"000000"}`
	keyed := func(list string, share int) func(*apitest.Options) {
		return func(c *apitest.Options) {
			keys, err := access.ParseList(list)
			if err != nil {
				panic(err)
			}
			c.Keys, c.KeyShare = access.NewRing(keys), share
		}
	}
	scoped := "login verify " + strings.Repeat("v", 32)
	return []spec{
		call(tableOnly, "not_found", "a route that does not exist", 404, "GET", "/generate/secrets", ""),
		call(tableOnly, "method_not_allowed", "a route sent another method (Allow lists the right ones)", 405, "DELETE", "/verify/token", ""),
		with(spec{op: tableOnly, name: "insufficient_scope", summary: "an API key without the route's scope (scope names it)", want: 403,
			run: func(h http.Handler) *httptest.ResponseRecorder {
				return send(h, "POST", "/seal", `{"secret":"`+exampleSecret+`"}`, "X-API-Key", strings.Repeat("v", 32))
			}}, keyed(scoped, 1000)),
		with(spec{op: tableOnly, name: "rate_limited", summary: "an API key that holds its whole share of the guard store (GUARD_KEY_SHARE)", want: 429,
			run: func(h http.Handler) *httptest.ResponseRecorder {
				send(h, "POST", "/verify/token", verify, "X-API-Key", strings.Repeat("v", 32))
				return send(h, "POST", "/verify/token", `{"secret":"JBSWY3DPEHPK3PXP","token":"000000"}`, "X-API-Key", strings.Repeat("v", 32))
			}}, keyed(scoped, 1)),
	}
}

// busy records the 503 busy of the QR routes: with one QR slot, requests
// for the largest QR code at once find it taken.
func busy(op string, h http.Handler) (*httptest.ResponseRecorder, error) {
	r := routes[op]
	body := `{"secret":"` + exampleSecret + `","account":"` + strings.Repeat("a", 200) + `","size":1024}`
	path := r.path
	if op == "generateSecret" {
		path, body = "/generate/secret?length=128&account="+strings.Repeat("a", 200)+"&qr=1024", ""
	}
	for range 200 {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen *httptest.ResponseRecorder
		)
		for range 4 {
			wg.Go(func() {
				w := send(h, r.method, path, body)
				if w.Code == http.StatusServiceUnavailable {
					mu.Lock()
					seen = w
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if seen != nil {
			return seen, nil
		}
	}
	return nil, fmt.Errorf("%s: no 503 busy in 200 tries", op)
}

// record runs every spec against a service of its own, and checks each
// answered what it was written for.
func record() ([]answer, error) {
	var out []answer
	build := func(change func(*apitest.Options)) (http.Handler, error) {
		cfg := apitest.Config(func() time.Time { return now }, io.Discard)
		cfg.Random = mathrand.NewChaCha8([32]byte{42})
		if change != nil {
			change(&cfg)
		}
		return cfg.Handler()
	}
	p, err := startProviders()
	if err != nil {
		return nil, err
	}
	for _, s := range append(append(append(specs(), extras()...), deliverySpecs(p)...), trustSpecs()...) {
		h, err := build(s.change)
		if err != nil {
			return nil, err
		}
		w := s.run(h)
		if w.Code != s.want {
			return nil, fmt.Errorf("%s %s: answered %d, not %d: %s", s.op, s.name, w.Code, s.want, w.Body.String())
		}
		a, err := decodeAnswer(s.op, s.name, s.summary, w.Code, w.Header(), w.Body)
		if err != nil {
			return nil, err
		}
		if w.Code >= 400 && a.code != s.name {
			return nil, fmt.Errorf("%s %s: answered code %s", s.op, s.name, a.code)
		}
		out = append(out, a)
	}
	for _, op := range []string{"generateQR", "generateSecret"} {
		h, err := build(func(c *apitest.Options) { c.QRConcurrency = 1 })
		if err != nil {
			return nil, err
		}
		w, err := busy(op, h)
		if err != nil {
			return nil, err
		}
		a, err := decodeAnswer(op, "busy", "as many QR codes are being drawn as the instance allows", w.Code, w.Header(), w.Body)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
