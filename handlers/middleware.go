package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"
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
func (s *server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	route, status, key := route(c), c.Writer.Status(), keyName(c)
	s.metrics.countRequest(route, c.Request.Method, status, key, elapsed)

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
	attrs := [9]slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
		slog.String("request_id", requestIDOf(c)),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.String("client", c.RemoteIP()), // no proxy is trusted: the peer is the client
		slog.String("key", key),
	}
	n := 8
	// With tracing on, the span otelgin started (continuing the caller's
	// traceparent) names the trace this line belongs to.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs[n] = slog.String("trace_id", sc.TraceID().String())
		n++
	}
	// Straight to the handler with no caller's PC: slog's Logger asks the
	// runtime for one on every line, which the access line never shows.
	r := slog.NewRecord(time.Now(), level, "request", 0)
	r.AddAttrs(attrs[:n]...)
	_ = s.log.Handler().Handle(ctx, r)
}

// recover turns a panic into a logged 500 problem; the panic value is not
// logged, since it might hold request data.
func (s *server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(c.Request.Context(), slog.LevelError, "panic in handler",
				slog.String("route", route(c)), slog.String("request_id", requestIDOf(c)))
			s.fail(c, errInternal)
		}
	}()
	c.Next()
}

// securityHeaders keeps secrets and codes out of caches and stops content
// sniffing. Swagger UI's static files may be cached.
func securityHeaders(c *gin.Context) {
	c.Header("X-Content-Type-Options", "nosniff")
	// No page may frame Swagger UI (or anything else here): a framed page
	// holding an API key is a clickjacking target.
	c.Header("Content-Security-Policy", "frame-ancestors 'none'")
	c.Header("X-Frame-Options", "DENY")
	if !strings.HasPrefix(c.Request.URL.Path, "/swagger/") {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}
