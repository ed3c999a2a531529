package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/totp/client/api"
)

// requestIDs makes request IDs: a random per-process prefix and a counter,
// unique across instances without a call to crypto/rand per request.
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
	return r.prefix + strconv.FormatUint(r.n.Add(1)+1<<48, 16)[1:]
}

// requestID echoes a caller's X-Request-ID when it is short and printable,
// and makes one otherwise, so log lines can be joined across services.
func requestID(ids *requestIDs) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !validRequestID(id) {
			id = ids.next()
		}
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// requestIDOf is the request ID requestID put on the answer.
func requestIDOf(c *gin.Context) string {
	return c.Writer.Header().Get("X-Request-Id")
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

// route is the matched route template, never the raw path, whose query may
// carry account names.
func route(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// quietRoutes are polled by probes and scrapers: their lines are debug.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observe times each request, counts it in the metrics and logs its access
// line: method, route template, status, latency, request ID, bytes out and
// the caller's address; no query, no body. Probes and scrapes log at debug,
// server errors at error.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	route, status := route(c), c.Writer.Status()
	s.metrics.countRequest(route, c.Request.Method, status, elapsed)

	level := slog.LevelInfo
	switch {
	case status >= http.StatusInternalServerError:
		level = slog.LevelError
	case quietRoutes[route]:
		level = slog.LevelDebug
	}
	ctx := c.Request.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := [8]slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.String("request_id", requestIDOf(c)),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.String("client", c.ClientIP()),
	}
	n := 7
	// With tracing on, the span otelgin started (continuing the caller's
	// traceparent) names the trace this line belongs to.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs[n] = slog.String("trace_id", sc.TraceID().String())
		n++
	}
	s.log.LogAttrs(ctx, level, "request", attrs[:n]...)
}

// recover turns a panic into a logged 500 problem; the panic value is not
// logged, since it might hold request data.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(c.Request.Context(), slog.LevelError, "panic in handler",
				slog.String("route", route(c)), slog.String("request_id", requestIDOf(c)))
			s.fail(c, newProblem(http.StatusInternalServerError, api.CodeInternal, "", "internal error"))
		}
	}()
	c.Next()
}

// securityHeaders keeps secrets and codes out of caches and stops content
// sniffing. Swagger UI's static files may be cached.
func securityHeaders(c *gin.Context) {
	c.Header("X-Content-Type-Options", "nosniff")
	if !strings.HasPrefix(c.Request.URL.Path, "/swagger/") {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}

// keyNameKey is where requireAPIKey leaves the name of the key a request
// came with.
const keyNameKey = "totp.key"

// KeyName names an API key without revealing it: the first 8 hex digits
// of its SHA-256.
func KeyName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// keyName is the name of the API key the request came with: "" without
// keys.
func keyName(c *gin.Context) string {
	return c.GetString(keyNameKey)
}

// requireAPIKey refuses requests without one of keys, sent as X-API-Key or
// as a bearer token. Keys are compared as SHA-256 digests in constant
// time, against every key, so timing tells nothing of a key's length or
// prefix.
func (s *Server) requireAPIKey(keys []string) gin.HandlerFunc {
	digests := make([][sha256.Size]byte, len(keys))
	names := make([]string, len(keys))
	for i, k := range keys {
		digests[i] = sha256.Sum256([]byte(k))
		names[i] = KeyName(k)
	}
	return func(c *gin.Context) {
		given := c.GetHeader("X-API-Key")
		if given == "" {
			if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
				given = strings.TrimSpace(bearer)
			}
		}
		sum := sha256.Sum256([]byte(given))
		match := -1
		for i := range digests {
			// Branch-free, so timing says nothing of which key matched.
			match = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(sum[:], digests[i][:]), i, match)
		}
		if given == "" || match < 0 {
			c.Header("WWW-Authenticate", `Bearer realm="totp"`)
			s.fail(c, newProblem(http.StatusUnauthorized, api.CodeUnauthorized, "",
				"an API key is required: send it as X-API-Key or Authorization: Bearer"))
			return
		}
		c.Set(keyNameKey, names[match])
		c.Next()
	}
}
