package handlers_test

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	jsonv1 "encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	jsonv2 "github.com/go-json-experiment/json"
	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/apitest"
)

// benchServer is the router as main wires it, metrics and access lines
// included, logging JSON to nowhere.
func benchServer(store guard.Store) http.Handler {
	now := time.Unix(1_700_000_000, 0)
	cfg := apitest.Config(func() time.Time { return now }, io.Discard)
	cfg.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) // info, as main logs
	cfg.Store = store
	cfg.MaxFailures = 1 << 30 // the distinct-secret run must never throttle
	return apitest.New(cfg)
}

// referenceRouter is bench/reference in process: a Gin endpoint that binds
// the verify JSON into a struct and answers a struct, checking the code
// with pquerna's totp.ValidateCustom when validate is set.
func referenceRouter(validate bool) http.Handler {
	r := gin.New()
	r.POST("/verify/token", func(c *gin.Context) {
		var req struct {
			Secret string `json:"secret"`
			Token  string `json:"token"`
			Skew   uint   `json:"skew"`
		}
		if err := c.ShouldBindJSON(&req); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		resp := struct {
			Valid     bool   `json:"valid"`
			Reason    string `json:"reason,omitempty"`
			Remaining int    `json:"remaining"`
		}{Reason: "mismatch", Remaining: 18}
		if validate {
			ok, err := totp.ValidateCustom(req.Token, req.Secret, time.Now(), totp.ValidateOpts{
				Period: 30, Skew: req.Skew, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1,
			})
			if err != nil {
				c.Status(http.StatusBadRequest)
				return
			}
			resp.Valid = ok
		}
		c.JSON(http.StatusOK, resp)
	})
	return r
}

func serve(b *testing.B, h http.Handler, method, url string, bodies []string) {
	b.Helper()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(method, url, strings.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		i++
	}
}

// distinctSecrets makes n verify bodies, each for its own secret.
func distinctSecrets(n int) []string {
	bodies := make([]string, n)
	var raw [20]byte
	for i := range bodies {
		binary.BigEndian.PutUint64(raw[:], uint64(i))
		bodies[i] = `{"secret":"` + base32.StdEncoding.EncodeToString(raw[:]) + `","token":"000000","skew":1}`
	}
	return bodies
}

func BenchmarkRouter(b *testing.B) {
	one := []string{`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","token":"000000","skew":1}`}
	b.Run("reference/gin", func(b *testing.B) { serve(b, referenceRouter(false), http.MethodPost, "/verify/token", one) })
	b.Run("reference/pquerna", func(b *testing.B) { serve(b, referenceRouter(true), http.MethodPost, "/verify/token", one) })
	b.Run("verify/guard-off", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/verify/token", one)
	})
	b.Run("verify/guard-memory-distinct", func(b *testing.B) {
		serve(b, benchServer(guard.NewMemory(0)), http.MethodPost, "/verify/token", distinctSecrets(100_000))
	})
	b.Run("verify/guard-off-sealed", func(b *testing.B) {
		// The same secret, sealed with context: what opening costs per request.
		h := benchServer(nil)
		req := httptest.NewRequest(http.MethodPost, "/seal", strings.NewReader(`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","context":"user-42"}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var sealed api.SealResponse
		if err := jsonv2.Unmarshal(w.Body.Bytes(), &sealed); err != nil {
			b.Fatal(err, w.Body.String())
		}
		serve(b, h, http.MethodPost, "/verify/token", []string{`{"sealed":"` + sealed.Sealed + `","context":"user-42","token":"000000","skew":1}`})
	})
	b.Run("token", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/generate/token", []string{`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}`})
	})
	b.Run("secret", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodGet, "/generate/secret", []string{""})
	})
	b.Run("qr", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/generate/qr", []string{`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","account":"alice@example.com","issuer":"Acme"}`})
	})
	b.Run("challenge", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/challenge", []string{`{"subject":"alice@example.com","purpose":"login"}`})
	})
	b.Run("recovery-codes", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/generate/recovery-codes", []string{`{"count":10}`})
	})
}

// BenchmarkDecodeVerify measures the two well-kept decoders the body could
// go through, each as strict as the service needs: encoding/json with
// unknown fields refused and a check for trailing data (it cannot refuse a
// member given twice, nor match names case-sensitively), and json/v2 with
// unknown members refused, which the service uses.
func BenchmarkDecodeVerify(b *testing.B) {
	body := []byte(`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","token":"000000","skew":1}`)
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req api.VerifyRequest
			dec := jsonv1.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				b.Fatal(err)
			}
			if dec.More() {
				b.Fatal("trailing data")
			}
		}
	})
	b.Run("json-v2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req api.VerifyRequest
			if err := jsonv2.Unmarshal(body, &req, jsonv2.RejectUnknownMembers(true)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
