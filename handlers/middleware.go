package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/acme/totp/api"
	"github.com/gin-gonic/gin"
)

// requestIDs makes request IDs: a random per-process prefix and a counter,
// unique without a call to crypto/rand per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:])}
}

func (r *requestIDs) next() string {
	var buf [12 + 12]byte
	n := copy(buf[:], r.prefix)
	v := r.n.Add(1)
	for i := len(buf) - 1; i >= n; i-- {
		buf[i] = "0123456789abcdef"[v&0xf]
		v >>= 4
	}
	return string(buf[:])
}

// requestID echoes a caller's X-Request-ID when it is short and printable,
// and makes one otherwise, so log lines can be joined across services.
func requestID(ids *requestIDs) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := header(c, "X-Request-Id")
		if !validRequestID(id) {
			id = ids.next()
		}
		// The answer's header is where the rest of the chain reads it:
		// gin's c.Set would allocate a map for every request.
		c.Writer.Header()["X-Request-Id"] = []string{id}
		c.Next()
	}
}

// header is the request's first value of the header named by key, which
// must be in canonical form: GetHeader would canonicalise, and allocate, on
// every call.
func header(c *gin.Context, key string) string {
	if v := c.Request.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
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

func requestIDOf(c *gin.Context) string {
	if id := c.Writer.Header()["X-Request-Id"]; len(id) == 1 {
		return id[0]
	}
	return ""
}

// route is the matched route template, never the raw path, whose query may
// carry account names.
func route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// recover turns a panic into a logged 500 problem; the panic value is not
// logged, since it might hold request data.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.Log.ErrorContext(c.Request.Context(), "panic in handler", "route", route(c), "request_id", requestIDOf(c))
			abort(c, newProblem(http.StatusInternalServerError, api.CodeInternal, "", "internal error"))
		}
	}()
	c.Next()
}

// securityHeaders keeps secrets and codes out of caches and stops content
// sniffing. Swagger UI's static files may be cached.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h["X-Content-Type-Options"] = nosniff
	if !strings.HasPrefix(c.Request.URL.Path, "/swagger/") {
		h["Cache-Control"] = noStore
	}
	c.Next()
}

// Shared header values: net/http only reads them, and Add or Set replace
// rather than write into a one-element slice.
var (
	nosniff         = []string{"nosniff"}
	noStore         = []string{"no-store"}
	jsonContentType = []string{"application/json; charset=utf-8"}
)

// requireAPIKey refuses requests without one of keys, sent as X-API-Key or
// as a bearer token. No keys, no check. Keys are compared as SHA-256
// digests in constant time, against every key, so timing tells nothing of
// a key's length or prefix.
func requireAPIKey(keys []string) gin.HandlerFunc {
	digests := make([][sha256.Size]byte, len(keys))
	for i, k := range keys {
		digests[i] = sha256.Sum256([]byte(k))
	}
	return func(c *gin.Context) {
		given := header(c, "X-Api-Key")
		if given == "" {
			if bearer, ok := strings.CutPrefix(header(c, "Authorization"), "Bearer "); ok {
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
			abort(c, newProblem(http.StatusUnauthorized, api.CodeUnauthorized, "",
				"an API key is required: send it as X-API-Key or Authorization: Bearer"))
			return
		}
		c.Next()
	}
}
