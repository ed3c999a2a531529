package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccessLine holds the hand-built access line to the line log/slog's
// JSON handler writes for the same record: byte for byte where the values
// are plain, and as the same JSON where they need escaping.
func TestAccessLine(t *testing.T) {
	start := time.Date(2026, 11, 22, 19, 1, 56, 123456789, time.FixedZone("", 3600))
	tests := []struct {
		name      string
		method    string
		route     string
		status    int
		latency   time.Duration
		requestID string
		sameBytes bool
	}{
		{"verify", "POST", "/verify/token", 200, 52 * time.Microsecond, "0123456789ab000000000001", true},
		{"unmatched", "DELETE", "unmatched", 404, 3*time.Second + 7*time.Microsecond, "abc-123", true},
		{"sub-microsecond", "GET", "/healthz", 200, 999 * time.Nanosecond, "x", true},
		{"long", "GET", "/readyz", 503, 90 * time.Minute, "x", true},
		{"quote and backslash", "GET", "/healthz", 200, time.Millisecond, `a"b\c`, true},
		{"control bytes", "GET", "/healthz", 200, time.Millisecond, "a\x01b\tc\nd\x7f", false},
		{"empty", "", "", 0, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			h := slog.NewJSONHandler(&want, nil)
			r := slog.NewRecord(start, slog.LevelInfo, "request", 0)
			r.AddAttrs(
				slog.String("method", tt.method),
				slog.String("route", tt.route),
				slog.Int("status", tt.status),
				slog.Float64("latency_ms", float64(tt.latency.Microseconds())/1000),
				slog.String("request_id", tt.requestID),
			)
			require.NoError(t, h.Handle(t.Context(), r))

			got := appendAccessLine(nil, start, tt.method, tt.route, tt.status, tt.latency, tt.requestID)
			if tt.sameBytes {
				assert.Equal(t, want.String(), string(got))
			}
			assert.JSONEq(t, want.String(), string(got))
			assert.Equal(t, byte('\n'), got[len(got)-1])
		})
	}
}

// TestAccessLineBeyondASCII: bytes beyond ASCII, which a checked method,
// route or request ID never holds, still make valid JSON.
func TestAccessLineBeyondASCII(t *testing.T) {
	got := appendAccessLine(nil, time.Unix(0, 0), "GET", "/é", 200, 0, "\xff\"")
	var line map[string]any
	require.NoError(t, json.Unmarshal(got, &line))
	assert.Equal(t, "/\ufffd\ufffd", line["route"])
	assert.Equal(t, "\ufffd\"", line["request_id"])
}

func BenchmarkAccessLine(b *testing.B) {
	start := time.Now()
	b.Run("hand-built", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			buf = appendAccessLine(buf[:0], start, "POST", "/verify/token", 200, 52*time.Microsecond, "0123456789ab000000000001")
		}
	})
	b.Run("slog", func(b *testing.B) {
		b.ReportAllocs()
		h := slog.NewJSONHandler(discardWriter{}, nil)
		for b.Loop() {
			r := slog.NewRecord(start, slog.LevelInfo, "request", 0)
			r.AddAttrs(
				slog.String("method", "POST"),
				slog.String("route", "/verify/token"),
				slog.Int("status", 200),
				slog.Float64("latency_ms", 0.052),
				slog.String("request_id", "0123456789ab000000000001"),
			)
			_ = h.Handle(b.Context(), r)
		}
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
