package handlers

import (
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// observe times each request, then counts it in s.Metrics and writes its
// access line to s.Access: method, route template, status, latency and
// request ID, stamped with the request's start; no query, no body.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	route, status := route(c), c.Writer.Status()
	if s.Metrics != nil {
		s.Metrics.countRequest(route, c.Request.Method, status, elapsed)
	}
	if s.Access != nil {
		buf := accessBuffers.Get().(*[]byte)
		*buf = appendAccessLine((*buf)[:0], start, c.Request.Method, route, status, elapsed, requestIDOf(c))
		_, _ = s.Access.Write(*buf)
		accessBuffers.Put(buf)
	}
}

var accessBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendAccessLine appends the JSON line log/slog's JSON handler would
// write for Info("request", "method", method, ...): the same keys, order and
// time format, so both kinds of line parse alike. It is built by hand
// because the JSON handler cost more per request than the verification
// the line records (BenchmarkAccessLine).
func appendAccessLine(b []byte, start time.Time, method, route string, status int, latency time.Duration, requestID string) []byte {
	b = append(b, `{"time":"`...)
	b = start.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = appendJSONString(b, method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, float64(latency.Microseconds())/1000, 'f', -1, 64)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, requestID)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string. What is logged here is
// ASCII (a method net/http has checked, a route template, a validated
// request ID), so this escapes quotes, backslashes and control bytes, and
// writes any byte beyond ASCII as U+FFFD rather than decode UTF-8.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	if plainJSON(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x80:
			b = append(b, `\ufffd`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// plainJSON reports whether s needs no escaping in a JSON string.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
