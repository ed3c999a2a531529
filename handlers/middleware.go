package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "request_id"

// requestID echoes a caller's X-Request-ID when it is short and printable,
// and makes one otherwise, so log lines can be joined across services.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !validRequestID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// route is the matched route template, never the raw path, whose query may
// carry account names.
func route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// accessLog writes one structured line per request: no query, no body.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	s.Log.InfoContext(c.Request.Context(), "request",
		"method", c.Request.Method,
		"route", route(c),
		"status", c.Writer.Status(),
		"latency_ms", float64(time.Since(start).Microseconds())/1000,
		"bytes", c.Writer.Size(),
		"request_id", requestID(c),
	)
}

// recover turns a panic into a logged 500 problem; the panic value is not
// logged, since it might hold request data.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.Log.ErrorContext(c.Request.Context(), "panic in handler", "route", route(c), "request_id", requestID(c))
			abort(c, newProblem(http.StatusInternalServerError, CodeInternal, "", "internal error"))
		}
	}()
	c.Next()
}

// securityHeaders keeps secrets and codes out of caches and stops content
// sniffing. Swagger UI's static files may be cached.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if !strings.HasPrefix(c.Request.URL.Path, "/swagger/") {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

// requireAPIKey refuses requests without one of keys, sent as X-API-Key or
// as a bearer token. No keys, no check. Keys are compared as SHA-256
// digests in constant time, against every key, so timing tells nothing of
// a key's length or prefix.
func requireAPIKey(keys []string) gin.HandlerFunc {
	if len(keys) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	digests := make([][sha256.Size]byte, len(keys))
	for i, k := range keys {
		digests[i] = sha256.Sum256([]byte(k))
	}
	return func(c *gin.Context) {
		given := c.GetHeader("X-API-Key")
		if given == "" {
			if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
				given = strings.TrimSpace(bearer)
			}
		}
		sum := sha256.Sum256([]byte(given))
		match := 0
		for i := range digests {
			match |= subtle.ConstantTimeCompare(sum[:], digests[i][:])
		}
		if given == "" || match != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="totp"`)
			abort(c, newProblem(http.StatusUnauthorized, CodeUnauthorized, "",
				"an API key is required: send it as X-API-Key or Authorization: Bearer"))
			return
		}
		c.Next()
	}
}
