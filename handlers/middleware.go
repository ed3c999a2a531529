package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/acme/totp/access"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
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
		slog.String("client", c.ClientIP()),
		slog.String("key", key),
	}
	n := 8
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

// keyNameKey is where authenticate leaves the name of the key a request
// came with.
const keyNameKey = "totp.key"

// KeyName names a key given bare: the first 8 hex digits of its SHA-256.
func KeyName(key string) string { return access.BareName(key) }

// keyName is the name of the API key the request came with: "" without
// keys.
func keyName(c *gin.Context) string {
	return c.GetString(keyNameKey)
}

// routeScopes is the scope each keyed route needs. A route missing here
// is refused to every key, so a new route cannot slip in unguarded.
var routeScopes = map[string]access.Scope{
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
	"POST /generate/token":                        access.Reveal,
	"POST /generate/qr":                           access.Reveal,
	"POST /hotp/token":                            access.Reveal,
	"POST /auth/generate/token/:encoding":         access.Reveal,
	"POST /challenge":                             access.Challenge,
	"GET /metrics":                                access.Metrics,
}

// RouteScopes returns the scope each keyed route needs, for tests and
// documents.
func RouteScopes() map[string]access.Scope { return maps.Clone(routeScopes) }

// authenticate refuses requests without one of the ring's keys, sent as
// X-API-Key or as a bearer token (401), or with a key that lacks the
// route's scope (403 insufficient_scope). A peer that sent more than
// MaxWrongKeys wrong keys within a minute is answered 429 until the
// minute ends, so keys cannot be guessed at speed.
func (s *server) authenticate(ring *access.Ring, wrong *peerCounts) gin.HandlerFunc {
	return func(c *gin.Context) {
		peer := c.RemoteIP()
		if wait, over := wrong.over(peer); over {
			s.fail(c, fault.Whole(fault.Throttled, api.CodeTooManyAttempts, "",
				"too many wrong API keys from this address; retry after the minute").Wait(wait))
			return
		}
		given := c.GetHeader("X-API-Key")
		if given == "" {
			if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
				given = strings.TrimSpace(bearer)
			}
		}
		key, ok := ring.Match(given)
		if !ok {
			wrong.add(peer)
			c.Header("WWW-Authenticate", `Bearer realm="totp"`)
			s.fail(c, fault.Whole(fault.Unauthenticated, api.CodeUnauthorized, "",
				"an API key is required: send it as X-API-Key or Authorization: Bearer"))
			return
		}
		c.Set(keyNameKey, key.Name)
		scope, known := routeScopes[c.Request.Method+" "+c.FullPath()]
		if !known || !key.Allows(scope) {
			f := fault.Whole(fault.Forbidden, api.CodeInsufficientScope, "",
				fmt.Sprintf("this API key (%s) lacks the %s scope this route needs", key.Name, scope))
			f.Scope = string(scope)
			s.fail(c, f)
			return
		}
		c.Next()
	}
}

// MaxWrongKeys is how many wrong API keys one peer may send in a minute.
const MaxWrongKeys = 20

// peerCounts counts wrong keys per peer address in minutes: this
// minute's counts, and nothing older. It holds at most maxPeers addresses
// a minute; past that, every new address shares one count, so a flood
// from many addresses is throttled together rather than grow the map.
type peerCounts struct {
	now    func() time.Time
	mu     sync.Mutex
	minute int64
	counts map[string]int
}

const maxPeers = 100_000

func newPeerCounts(now func() time.Time) *peerCounts {
	return &peerCounts{now: now, counts: map[string]int{}}
}

// roll starts a new minute when this one has passed. The caller holds mu.
func (p *peerCounts) roll() int64 {
	now := p.now()
	if m := now.Unix() / 60; m != p.minute {
		p.minute, p.counts = m, map[string]int{}
	}
	return 60 - now.Unix()%60
}

func (p *peerCounts) key(peer string) string {
	if _, ok := p.counts[peer]; !ok && len(p.counts) >= maxPeers {
		return "" // the shared count of every address past maxPeers
	}
	return peer
}

func (p *peerCounts) over(peer string) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	left := p.roll()
	return time.Duration(left) * time.Second, p.counts[p.key(peer)] >= MaxWrongKeys
}

func (p *peerCounts) add(peer string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll()
	p.counts[p.key(peer)]++
}
