package handlers_test

import (
	"encoding/base32"
	"encoding/binary"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

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

// floorRouter is the constant-answer baseline: a Gin endpoint that binds
// the verify JSON and answers without checking anything.
func floorRouter() http.Handler {
	r := gin.New()
	r.POST("/verify/token", func(c *gin.Context) {
		var req struct {
			Secret string `json:"secret"`
			Token  string `json:"token"`
		}
		if err := c.ShouldBindJSON(&req); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		c.JSON(http.StatusOK, gin.H{"valid": false, "remaining": 18})
	})
	return r
}

func serve(b *testing.B, h http.Handler, method, url string, bodies []string) {
	b.Helper()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(method, url, strings.NewReader(bodies[i%len(bodies)]))
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
	b.Run("floor", func(b *testing.B) { serve(b, floorRouter(), http.MethodPost, "/verify/token", one) })
	b.Run("verify/guard-off", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/verify/token", one)
	})
	b.Run("verify/guard-memory-distinct", func(b *testing.B) {
		serve(b, benchServer(guard.NewMemory(time.Now, 0)), http.MethodPost, "/verify/token", distinctSecrets(100_000))
	})
	b.Run("token", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodPost, "/generate/token", []string{`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}`})
	})
	b.Run("secret", func(b *testing.B) {
		serve(b, benchServer(nil), http.MethodGet, "/generate/secret", []string{""})
	})
}
