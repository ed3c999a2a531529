package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/acme/totp/client/api"
)

// checkAnswer fails unless w is a 200 or a well-formed 400, 413 or 429
// problem (429: repeated wrong recovery codes for one hash set).
func checkAnswer(t *testing.T, code int, contentType string, body []byte) {
	t.Helper()
	switch code {
	case http.StatusOK:
		return
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
	default:
		t.Fatalf("status %d: %s", code, body)
	}
	if contentType != "application/problem+json" {
		t.Fatalf("content type %q", contentType)
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Code == "" || p.Status != code {
		t.Fatalf("not a problem (%v): %s", err, body)
	}
}

// FuzzJSONRoutes feeds arbitrary bodies and query encodings to every route
// that decodes JSON: only 200, 400, 413 and 429 may come back, never a 500 or a
// panic.
func FuzzJSONRoutes(f *testing.F) {
	for _, seed := range []string{
		`{"secret":"JBSWY3DPEHPK3PXP","token":"123456"}`,
		`{"secret":"JBSWY3DPEHPK3PXP","token":123456,"digits":8,"period":60,"skew":2,"algorithm":"sha512"}`,
		`{"secret":"3132333435363738393031323334353637383930","encoding":"hex","token":"0708 1804"}`,
		`{"secret":"MTIzNDU2Nzg5MDEyMzQ1Njc4OTA","encoding":"base64","token":1e3}`,
		`{"secret":"JBSWY3DPEHPK3PXP","account":"a@b.c","issuer":"Acme","size":64}`,
		`{"secret":"JBSWY3DPEHPK3PXP","token":-0.5}`,
		`{"secret":"JBSWY3DPEHPK3PXP"} {}`,
		`{"token":null,"secret":null}`,
		`{"subject":"a@b.c","purpose":"login","digits":6,"ttl":60}`,
		`{"challenge":"AQAAAAAAAAAAAAAAAAAAAAAAAAAA","code":"123456","subject":"a"}`,
		`{"code":"7kq2 m4xd 9hrt pbwc","hashes":["sha256:00"]}`,
		`{"count":3}`,
		`{"secret":"JBSWY3DPEHPK3PXP","counter":5,"token":"123456","token2":"654321","look_ahead":100}`,
		`{"secret":"JBSWY3DPEHPK3PXP","encoder":"steam","token":"2BCDF","skew_past":2,"skew_future":0}`,
		`{"uri":"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=8","token":"12345678","context":"u"}`,
		`{"sealed":"s1.test.AAAA","context":"u","token":"123456"}`,
		`[`, `"`, `null`, ``,
	} {
		f.Add(seed, "")
		f.Add(seed, "ascii")
	}
	a := newAPI(f, time.Unix(1_700_000_000, 0))
	routes := []string{"/generate/token", "/verify/token", "/generate/qr", "/challenge", "/challenge/verify", "/generate/recovery-codes", "/verify/recovery-code", "/hotp/token", "/hotp/verify", "/hotp/resync", "/seal", "/reseal"}
	f.Fuzz(func(t *testing.T, body, encoding string) {
		a.logs.Reset()
		for _, route := range routes {
			u := route
			if encoding != "" {
				u += "?encoding=" + url.QueryEscape(encoding)
			}
			start := time.Now()
			w := a.do(t, http.MethodPost, u, body)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("%s took %v", route, d)
			}
			checkAnswer(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
		}
	})
}

// FuzzGenerateSecretQuery feeds arbitrary query strings to GET /generate/secret.
func FuzzGenerateSecretQuery(f *testing.F) {
	for _, seed := range []string{
		"", "length=16&encoding=hex", "account=a%40b.c&issuer=Acme&qr=64",
		"account=x&digits=8&period=1&algorithm=SHA256", "qr=99999999999999999999&account=a",
		"length=-1", "account=%ZZ", "a=1&a=2",
	} {
		f.Add(seed)
	}
	a := newAPI(f, time.Unix(1_700_000_000, 0))
	f.Fuzz(func(t *testing.T, query string) {
		a.logs.Reset()
		w := a.do(t, http.MethodGet, "/generate/secret?"+url.PathEscape(query), "")
		checkAnswer(t, w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
	})
}
