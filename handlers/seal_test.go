package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/internal/apitest"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/seal"
)

// withSealKeys sets SEAL_KEYS.
func withSealKeys(keys ...seal.Key) func(*apitest.Options) {
	return func(c *apitest.Options) { c.SealKeys = keys }
}

func sealKey(id string, b byte) seal.Key {
	return seal.Key{ID: id, Secret: bytes.Repeat([]byte{b}, seal.KeyLen)}
}

// sealOver seals req through POST /seal.
func sealOver(t *testing.T, a *testAPI, req map[string]any) api.SealResponse {
	t.Helper()
	w := a.do(t, http.MethodPost, "/seal", body(t, req))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	return decode[api.SealResponse](t, w)
}

// token is POST /generate/token's code for req, which must be a 200.
func token(t *testing.T, a *testAPI, req map[string]any) api.TokenResponse {
	t.Helper()
	w := a.do(t, http.MethodPost, "/generate/token", body(t, req))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	return decode[api.TokenResponse](t, w)
}

// problemOf checks w is the problem status, code and field, and returns it.
func problemOf(t *testing.T, w *httptest.ResponseRecorder, status int, code, field string) api.Problem {
	t.Helper()
	require.Equal(t, status, w.Code, w.Body.String())
	p := decode[api.Problem](t, w)
	assert.Equal(t, code, p.Code, p.Detail)
	assert.Equal(t, field, p.Field, p.Detail)
	return p
}

// TestSealedEnrolmentAndLogin is a sibling service that stores nothing but
// sealed and key_id: enrolment with seal=true, then the code of the user's
// app verified through sealed, with the user's ID as context.
func TestSealedEnrolmentAndLogin(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	w := a.do(t, http.MethodGet, "/generate/secret?account=alice%40example.com&issuer=Acme&seal=true&context=user-42", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	enrol := decode[api.SecretResponse](t, w)
	require.NotEmpty(t, enrol.Secret, "the plain secret is shown once, for the user's app")
	require.NotEmpty(t, enrol.URI)
	assert.Equal(t, apitest.SealKey.ID, enrol.KeyID)
	assert.True(t, strings.HasPrefix(enrol.Sealed, "s1."+apitest.SealKey.ID+"."), enrol.Sealed)
	assert.NotContains(t, enrol.Sealed, enrol.Secret)
	assert.Empty(t, enrol.Warnings, "the defaults warn of nothing")

	// The user's app makes codes from the plain secret.
	raw, err := otp.DecodeSecret("base32", enrol.Secret)
	require.NoError(t, err)
	app, err := otp.NewKey(raw, otp.DefaultParams)
	require.NoError(t, err)
	code, err := app.Generate(a.Now())
	require.NoError(t, err)

	// The service knows only sealed and the user's ID.
	got := token(t, a, map[string]any{"sealed": enrol.Sealed, "context": "user-42"})
	assert.Equal(t, code.Token, got.Token)
	w = a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"sealed": enrol.Sealed, "context": "user-42", "token": code.Token}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	v := decode[api.VerifyResponse](t, w)
	assert.True(t, v.Valid)
	assert.Equal(t, code.Step, *v.Step)

	// The QR code of the sealed secret carries the same URI's secret.
	w = a.do(t, http.MethodPost, "/generate/qr", body(t, map[string]any{"sealed": enrol.Sealed, "context": "user-42", "account": "alice@example.com", "issuer": "Acme"}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "image/png", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	// Copied to another user's row, it does not work.
	w = a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"sealed": enrol.Sealed, "context": "user-43", "token": code.Token}))
	problemOf(t, w, http.StatusBadRequest, "invalid_sealed", "sealed")
}

// TestSealFromEveryForm: one secret sealed from base32, hex, base64, ascii
// and a Key URI gives the plain secret's codes, with every algorithm,
// digits and period, and the options some apps ignore are warned of.
func TestSealFromEveryForm(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	raw := []byte("12345678901234567890")
	b32, err := otp.Base32.Encode(raw)
	require.NoError(t, err)
	for _, p := range []struct {
		algorithm string
		digits    int
		period    int
		warnings  []string
	}{
		{"SHA1", 6, 30, nil},
		{"SHA256", 6, 30, []string{"nonstandard_algorithm"}},
		{"SHA512", 8, 60, []string{"nonstandard_algorithm", "nonstandard_digits", "nonstandard_period"}},
		{"SHA1", 7, 15, []string{"nonstandard_digits", "nonstandard_period"}},
	} {
		opts := map[string]any{"algorithm": p.algorithm, "digits": p.digits, "period": p.period}
		plain := token(t, a, merge(map[string]any{"secret": b32}, opts))
		forms := map[string]map[string]any{
			"base32": merge(map[string]any{"secret": b32}, opts),
			"hex":    merge(map[string]any{"secret": hex.EncodeToString(raw), "encoding": "hex"}, opts),
			"base64": merge(map[string]any{"secret": base64.StdEncoding.EncodeToString(raw), "encoding": "base64"}, opts),
			"ascii":  merge(map[string]any{"secret": string(raw), "encoding": "ascii"}, opts),
			"uri": {"uri": "otpauth://totp/Acme:alice?secret=" + b32 + "&issuer=Acme&algorithm=" + p.algorithm +
				"&digits=" + strconv.Itoa(p.digits) + "&period=" + strconv.Itoa(p.period)},
		}
		for name, form := range forms {
			sealed := sealOver(t, a, merge(form, map[string]any{"context": "user-42"}))
			assert.Equal(t, p.warnings, sealed.Warnings, "%s %+v", name, p)
			got := token(t, a, map[string]any{"sealed": sealed.Sealed, "context": "user-42"})
			assert.Equal(t, plain, got, "%s %+v", name, p)
			// And the URI form gives them without sealing.
			if name == "uri" {
				assert.Equal(t, plain, token(t, a, form), "uri %+v", p)
			}
		}
	}
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestEveryChangedSealedIsInvalid: every single-character change and every
// truncation of a sealed secret, a wrong or missing context and an
// unknown key give one and the same answer: 400 invalid_sealed, field
// sealed, never echoing it.
func TestEveryChangedSealedIsInvalid(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	sealed := sealOver(t, a, map[string]any{"secret": guardSecret, "context": "user-42"}).Sealed
	var first []byte
	check := func(what, text, context string) {
		t.Helper()
		w := a.do(t, http.MethodPost, "/generate/token", body(t, map[string]any{"sealed": text, "context": context}))
		require.Equal(t, http.StatusBadRequest, w.Code, "%s: %s", what, w.Body.String())
		if first == nil {
			first = w.Body.Bytes()
			p := decode[api.Problem](t, w)
			assert.Equal(t, "invalid_sealed", p.Code)
			assert.Equal(t, "sealed", p.Field)
		}
		require.Equal(t, string(first), w.Body.String(), "%s: the same answer for every cause", what)
		if len(text) >= 40 {
			assert.NotContains(t, w.Body.String(), text[8:40])
		}
	}
	for i := range len(sealed) {
		for _, c := range []byte("Aa0_-.=+/ ") {
			if c != sealed[i] {
				check("change at "+strconv.Itoa(i), sealed[:i]+string(c)+sealed[i+1:], "user-42")
			}
		}
	}
	for n := 1; n < len(sealed); n++ {
		check("truncation", sealed[:n], "user-42")
	}
	check("wrong context", sealed, "user-43")
	check("another version", "s2"+sealed[2:], "user-42")
	check("unknown key ID", strings.Replace(sealed, "."+apitest.SealKey.ID+".", ".gone.", 1), "user-42")

	// Without context: a request error of its own, before anything is
	// opened, whatever the sealed text.
	for _, text := range []string{sealed, "garbage"} {
		w := a.do(t, http.MethodPost, "/generate/token", body(t, map[string]any{"sealed": text}))
		problemOf(t, w, http.StatusBadRequest, "missing_field", "context")
	}

	other := newAPI(t, a.Now(), withSealKeys(sealKey("test", 0x55)))
	w := other.do(t, http.MethodPost, "/generate/token", body(t, map[string]any{"sealed": sealed, "context": "user-42"}))
	require.Equal(t, string(first), w.Body.String(), "another key under the same ID")

	scrape := a.do(t, http.MethodGet, "/metrics", "").Body.String()
	assert.Contains(t, scrape, `totp_seal_operations_total{operation="open",result="invalid"}`)
	assert.Contains(t, scrape, `totp_seal_operations_total{operation="seal",result="ok"} 1`)
	assert.NotContains(t, scrape, sealed[:20], "never a key or a sealed secret in a label")
}

// TestRotation: sealed under the old key opens while it is listed,
// /reseal moves it to the new key, and once the old key is dropped the old
// sealed secret is refused and the resealed one works.
func TestRotation(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	oldKey, newKey := sealKey("2025-05", 1), sealKey("2026-11", 2)
	before := newAPI(t, now, withSealKeys(oldKey))
	old := sealOver(t, before, map[string]any{"secret": guardSecret, "context": "user-42"})
	assert.Equal(t, "2025-05", old.KeyID)
	want := token(t, before, map[string]any{"secret": guardSecret})

	during := newAPI(t, now, withSealKeys(newKey, oldKey))
	assert.Equal(t, want, token(t, during, map[string]any{"sealed": old.Sealed, "context": "user-42"}), "the old key opens while listed")
	w := during.do(t, http.MethodPost, "/reseal", body(t, map[string]any{"sealed": old.Sealed, "context": "user-42"}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	moved := decode[api.ResealResponse](t, w)
	assert.True(t, moved.Rotated)
	assert.Equal(t, "2026-11", moved.KeyID)
	assert.NotEqual(t, old.Sealed, moved.Sealed)

	again := decode[api.ResealResponse](t, during.do(t, http.MethodPost, "/reseal", body(t, map[string]any{"sealed": moved.Sealed, "context": "user-42"})))
	assert.Equal(t, api.ResealResponse{Sealed: moved.Sealed, KeyID: "2026-11", Rotated: false}, again, "already under the first key: unchanged")
	w = during.do(t, http.MethodPost, "/reseal", body(t, map[string]any{"sealed": old.Sealed, "context": "user-43"}))
	problemOf(t, w, http.StatusBadRequest, "invalid_sealed", "sealed")
	w = during.do(t, http.MethodPost, "/reseal", body(t, map[string]any{"sealed": old.Sealed}))
	problemOf(t, w, http.StatusBadRequest, "missing_field", "context")

	after := newAPI(t, now, withSealKeys(newKey))
	w = after.do(t, http.MethodPost, "/generate/token", body(t, map[string]any{"sealed": old.Sealed, "context": "user-42"}))
	problemOf(t, w, http.StatusBadRequest, "invalid_sealed", "sealed")
	assert.Equal(t, want, token(t, after, map[string]any{"sealed": moved.Sealed, "context": "user-42"}))
}

// TestChallengeAndSealedNeverCross: with the very same key and ID given to
// both, a challenge is not a sealed secret, nor the other way round.
func TestChallengeAndSealedNeverCross(t *testing.T) {
	shared := sealKey("shared", 3)
	// SEAL_CONTEXT=optional: a challenge is sealed with no context, so
	// only its label tells it apart.
	a := newAPI(t, time.Unix(1_700_000_000, 0), withSealKeys(shared), func(c *apitest.Options) {
		c.ChallengeKeys = []seal.Key{shared}
		c.SealContextOptional = true
	})
	iss := decode[api.ChallengeResponse](t, a.do(t, http.MethodPost, "/challenge", `{"subject":"a@example.com"}`))
	w := a.do(t, http.MethodPost, "/generate/token", body(t, map[string]any{"sealed": iss.Challenge}))
	problemOf(t, w, http.StatusBadRequest, "invalid_sealed", "sealed")
	w = a.do(t, http.MethodPost, "/reseal", body(t, map[string]any{"sealed": iss.Challenge}))
	problemOf(t, w, http.StatusBadRequest, "invalid_sealed", "sealed")

	sealed := sealOver(t, a, map[string]any{"secret": guardSecret}).Sealed
	w = a.do(t, http.MethodPost, "/challenge/verify", body(t, map[string]any{"challenge": sealed, "code": "123456", "subject": "a@example.com"}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "invalid_challenge", decode[api.ChallengeVerifyResponse](t, w).Reason)
}

// TestGuardAcrossForms: the guard fingerprints the opened secret, so a
// code used in the clear is replayed sealed (and through a URI), and
// failures in every form add up to one lock.
func TestGuardAcrossForms(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	sealed := sealOver(t, a, map[string]any{"secret": guardSecret, "context": "u"}).Sealed
	uri := "otpauth://totp/a?secret=" + guardSecret
	verify := func(form map[string]any, code string) *httptest.ResponseRecorder {
		return a.do(t, http.MethodPost, "/verify/token", body(t, merge(form, map[string]any{"token": code})))
	}
	plainForm, sealedForm, uriForm := map[string]any{"secret": guardSecret}, map[string]any{"sealed": sealed, "context": "u"}, map[string]any{"uri": uri}

	code := currentCode(t, a.Now())
	assert.True(t, decode[api.VerifyResponse](t, verify(plainForm, code)).Valid)
	assert.Equal(t, "replayed", decode[api.VerifyResponse](t, verify(sealedForm, code)).Reason)
	assert.Equal(t, "replayed", decode[api.VerifyResponse](t, verify(uriForm, code)).Reason)

	a.advance(30 * time.Second)
	code = currentCode(t, a.Now())
	assert.True(t, decode[api.VerifyResponse](t, verify(sealedForm, code)).Valid)
	assert.Equal(t, "replayed", decode[api.VerifyResponse](t, verify(plainForm, code)).Reason)

	for i, form := range []map[string]any{plainForm, sealedForm, uriForm, sealedForm, plainForm} {
		w := verify(form, "000000")
		require.Equal(t, http.StatusOK, w.Code, "failure %d", i+1)
	}
	for _, form := range []map[string]any{plainForm, sealedForm, uriForm} {
		w := verify(form, currentCode(t, a.Now().Add(30*time.Second)))
		problemOf(t, w, http.StatusTooManyRequests, "too_many_attempts", "")
	}
}

// TestURIImport: a Key URI's secret and options apply, with the Key URI
// format's defaults, on every route that takes a secret.
func TestURIImport(t *testing.T) {
	a := newAPI(t, time.Unix(1_111_111_109, 0)) // RFC 6238 Appendix B
	const seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, tc := range []struct {
		name, uri, want string
	}{
		{"defaults", "otpauth://totp/a?secret=" + seed, "081804"},
		{"every parameter", "otpauth://totp/Acme:a?secret=" + seed + "&issuer=Acme&algorithm=SHA1&digits=8&period=30", "07081804"},
		{"percent-encoded label, lower-case secret", "otpauth://totp/Acme%20%26%20Co:Alice%20Smith?secret=" + strings.ToLower(seed) + "&issuer=Acme%20%26%20Co&digits=8", "07081804"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, token(t, a, map[string]any{"uri": tc.uri}).Token)
			w := a.do(t, http.MethodPost, "/generate/qr", body(t, map[string]any{"uri": tc.uri, "size": 128}))
			require.Equal(t, http.StatusOK, w.Code, "the URI's label is the QR's: %s", w.Body.String())
		})
	}
}

func TestSealAndURIBadInput(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	sealed := sealOver(t, a, map[string]any{"secret": guardSecret, "context": "u"}).Sealed
	uri := "otpauth://totp/a?secret=" + guardSecret
	for _, tc := range []struct {
		name, method, url, body string
		status                  int
		code, field             string
	}{
		{"secret and sealed", "POST", "/generate/token", `{"secret":"` + guardSecret + `","sealed":"` + sealed + `"}`, 400, "conflicting_field", "sealed"},
		{"secret and uri", "POST", "/verify/token", `{"secret":"` + guardSecret + `","uri":"` + uri + `","token":"123456"}`, 400, "conflicting_field", "uri"},
		{"sealed and uri", "POST", "/generate/qr", `{"sealed":"` + sealed + `","uri":"` + uri + `","account":"a"}`, 400, "conflicting_field", "uri"},
		{"digits beside sealed", "POST", "/generate/token", `{"sealed":"` + sealed + `","digits":8}`, 400, "conflicting_field", "digits"},
		{"algorithm beside sealed", "POST", "/verify/token", `{"sealed":"` + sealed + `","algorithm":"SHA1","token":"123456"}`, 400, "conflicting_field", "algorithm"},
		{"period beside uri", "POST", "/generate/token", `{"uri":"` + uri + `","period":30}`, 400, "conflicting_field", "period"},
		{"encoding beside sealed", "POST", "/generate/token", `{"sealed":"` + sealed + `","encoding":"base32"}`, 400, "conflicting_field", "encoding"},
		{"encoding in the query beside sealed", "POST", "/generate/token?encoding=hex", `{"sealed":"` + sealed + `"}`, 400, "conflicting_field", "encoding"},
		{"encoder beside uri", "POST", "/generate/token", `{"uri":"` + uri + `","encoder":"steam"}`, 400, "conflicting_field", "encoder"},
		{"context without sealed", "POST", "/generate/token", `{"secret":"` + guardSecret + `","context":"u"}`, 400, "conflicting_field", "context"},
		{"sealed not a string", "POST", "/generate/token", `{"sealed":5}`, 400, "invalid_parameter", "sealed"},
		{"garbage sealed", "POST", "/verify/token", `{"sealed":"hello","context":"u","token":"123456"}`, 400, "invalid_sealed", "sealed"},
		{"sealed without context", "POST", "/verify/token", `{"sealed":"` + sealed + `","token":"123456"}`, 400, "missing_field", "context"},
		{"seal without context", "POST", "/seal", `{"secret":"` + guardSecret + `"}`, 400, "missing_field", "context"},
		{"generate sealed without context", "GET", "/generate/secret?seal=true", "", 400, "missing_field", "context"},
		{"malformed uri", "POST", "/generate/token", `{"uri":"otpauth://totp/a?secret=` + guardSecret + `&digits=six"}`, 400, "invalid_uri", "uri"},
		{"hotp uri", "POST", "/verify/token", `{"uri":"otpauth://hotp/a?secret=` + guardSecret + `&counter=1","token":"123456"}`, 400, "invalid_uri", "uri"},
		{"not a uri", "POST", "/generate/qr", `{"uri":"` + guardSecret + `"}`, 400, "invalid_uri", "uri"},
		{"uri without secret", "POST", "/seal", `{"uri":"otpauth://totp/a?digits=8"}`, 400, "invalid_uri", "uri"},
		{"seal nothing", "POST", "/seal", `{"context":"u"}`, 400, "missing_field", "secret"},
		{"seal a sealed secret", "POST", "/seal", `{"sealed":"` + sealed + `"}`, 400, "unknown_field", "sealed"},
		{"seal with options beside uri", "POST", "/seal", `{"uri":"` + uri + `","digits":8}`, 400, "conflicting_field", "digits"},
		{"seal context too long", "POST", "/seal", `{"secret":"` + guardSecret + `","context":"` + strings.Repeat("u", otp.MaxContextLen+1) + `"}`, 400, "invalid_parameter", "context"},
		{"reseal nothing", "POST", "/reseal", `{}`, 400, "missing_field", "sealed"},
		{"seal=yes", "GET", "/generate/secret?seal=yes", "", 400, "invalid_parameter", "seal"},
		{"context without seal", "GET", "/generate/secret?context=u", "", 400, "conflicting_field", "context"},
		{"sealed hotp secret", "GET", "/generate/secret?seal=true&type=hotp&counter=0", "", 400, "conflicting_field", "seal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := a.do(t, tc.method, tc.url, tc.body)
			p := problemOf(t, w, tc.status, tc.code, tc.field)
			assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
			for _, s := range []string{guardSecret, sealed[5:30], "123456"} {
				assert.NotContains(t, p.Detail, s, "never echoed")
			}
		})
	}
}

// TestSealingNotConfigured: without SEAL_KEYS every sealing and opening
// says how to make a key; secrets in the clear work as before.
func TestSealingNotConfigured(t *testing.T) {
	withKeys := newAPI(t, time.Unix(1_700_000_000, 0))
	sealed := sealOver(t, withKeys, map[string]any{"secret": guardSecret, "context": "u"}).Sealed
	a := newAPI(t, withKeys.Now(), withSealKeys())
	for _, r := range []struct{ method, url, body string }{
		{"POST", "/seal", `{"secret":"` + guardSecret + `"}`},
		{"POST", "/reseal", `{"sealed":"` + sealed + `"}`},
		{"GET", "/generate/secret?seal=true", ""},
		{"POST", "/generate/token", `{"sealed":"` + sealed + `"}`},
		{"POST", "/verify/token", `{"sealed":"` + sealed + `","token":"123456"}`},
	} {
		w := a.do(t, r.method, r.url, r.body)
		p := problemOf(t, w, http.StatusNotImplemented, "sealing_not_configured", "")
		assert.Contains(t, p.Detail, "SEAL_KEYS=ID:KEY", r.url)
		assert.Contains(t, p.Detail, "head -c 32 /dev/urandom | base64", r.url)
	}
	assert.NotContains(t, a.logs.String(), `"request failed"`, "said at start-up; the access lines (at error, as 5xx) are enough")
	token(t, a, map[string]any{"secret": guardSecret})
}

// FuzzSealedAndURI feeds arbitrary sealed, context and uri values to the
// routes that take them: only 200 and 400 come back, and nothing but the
// one sealed secret made here opens. The random source is seeded, so that
// every fuzzing process seals the same secret first. The guard is off: a
// secret that opens is verified again and again, which it would lock (429).
func FuzzSealedAndURI(f *testing.F) {
	a := newAPI(f, time.Unix(1_700_000_000, 0), withoutGuard, func(c *apitest.Options) { c.Random = mathrand.NewChaCha8([32]byte{1}) })
	w := a.do(f, http.MethodPost, "/seal", `{"secret":"`+guardSecret+`","context":"u"}`)
	valid := decode[api.SealResponse](f, w).Sealed
	for _, seed := range [][3]string{
		{valid, "u", ""}, {valid, "", ""}, {valid[:len(valid)-1], "u", ""}, {"s1..", "", ""}, {"s1.test.AAAA", "", ""},
		{"", "", "otpauth://totp/a?secret=" + guardSecret}, {"", "", "otpauth://totp/A%20b:c?secret=" + guardSecret + "&algorithm=SHA512&digits=8&period=60&issuer=A%20b"},
		{"", "", "otpauth://hotp/a?secret=" + guardSecret}, {"", "", "otpauth://totp/%zz"}, {"", "", "otpauth://totp/a?secret=" + guardSecret + "&period=99999999999999999999"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, sealed, context, uri string) {
		a.logs.Reset()
		req := map[string]any{}
		for k, v := range map[string]string{"sealed": sealed, "context": context, "uri": uri} {
			if v != "" {
				req[k] = v
			}
		}
		for _, r := range []struct {
			route string
			extra map[string]any
		}{
			{"/generate/token", nil}, {"/verify/token", map[string]any{"token": "123456"}},
			{"/generate/qr", map[string]any{"size": 64}}, {"/seal", nil}, {"/reseal", nil},
		} {
			b := merge(req, r.extra)
			if r.route == "/seal" {
				delete(b, "sealed")
			}
			if r.route == "/reseal" {
				delete(b, "uri")
			}
			w := a.do(t, http.MethodPost, r.route, body(t, b))
			if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
				t.Fatalf("%s: %d %s", r.route, w.Code, w.Body.String())
			}
			checkAnswer(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
			if w.Code == http.StatusOK && sealed != "" && (r.route == "/generate/token" || r.route == "/reseal") && uri == "" && sealed != valid {
				t.Fatalf("%s: a forged sealed secret opened", r.route)
			}
		}
	})
}

// TestGenerateSecretWarnings: options some apps ignore are warned of where
// they are carried (the URI or the seal), and only there.
func TestGenerateSecretWarnings(t *testing.T) {
	a := newAPI(t, time.Unix(1_700_000_000, 0))
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"account=a", nil},
		{"account=a&algorithm=SHA256&period=60", []string{"nonstandard_algorithm", "nonstandard_period"}},
		{"seal=true&context=u&digits=8", []string{"nonstandard_digits"}},
		{"seal=true&context=u&encoder=steam", []string{"nonstandard_digits"}},
		{"digits=8", nil}, // carried nowhere
	} {
		w := a.do(t, http.MethodGet, "/generate/secret?"+tc.query, "")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		assert.Equal(t, tc.want, decode[api.SecretResponse](t, w).Warnings, tc.query)
	}
}
