package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/acme/totp/telemetry"
)

// BenchmarkAccessLine is one access line as the service writes it, through
// each logger, to nowhere: what encoding a line costs, apart from writing.
func BenchmarkAccessLine(b *testing.B) {
	buffered, stop := telemetry.NewBufferedLogger(io.Discard, slog.LevelInfo)
	defer stop()
	for _, bb := range []struct {
		name string
		log  *slog.Logger
	}{
		{"unbuffered", telemetry.NewLogger(io.Discard, slog.LevelInfo)},
		{"buffered", buffered},
	} {
		b.Run(bb.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				bb.log.LogAttrs(ctx, slog.LevelInfo, "request",
					slog.String("method", "POST"), slog.String("route", "/verify/token"), slog.Int("status", 200),
					slog.Float64("latency_ms", 0.123), slog.String("request_id", "ecce17641f1e000000000002"),
					slog.Int("bytes", 58), slog.String("client", "127.0.0.1"), slog.String("key", "login"))
			}
		})
	}
}
