// Package telemetry is what the service tells its operators: JSON log
// lines through slog (with the libraries' own loggers bridged to it),
// OpenTelemetry traces when the environment asks for them, and runtime
// profiles on a listener of their own.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap/zapcore"
)

// NewLogger writes JSON lines to w, one write per line, as it logs them.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// FlushInterval is the longest a line waits in NewBufferedLogger's buffer.
const FlushInterval = 100 * time.Millisecond

// NewBufferedLogger writes JSON lines to w through zap's
// BufferedWriteSyncer: info and debug lines wait in its buffer for at most
// FlushInterval (or until it holds 256 KiB), so a busy instance writes a
// few times a second rather than once a request; a warning or an error is
// written at once, with every line before it. stop flushes what is left:
// call it at shutdown. A process killed outright (SIGKILL, an unrecovered
// panic outside a request) loses the lines of its last FlushInterval.
func NewBufferedLogger(w io.Writer, level slog.Level) (log *slog.Logger, stop func() error) {
	// Without its Sync, if it has one: a sync of stderr is an fsync of a
	// pipe or a terminal, which only costs.
	ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(struct{ io.Writer }{w}), FlushInterval: FlushInterval}
	h := slog.NewJSONHandler(ws, &slog.HandlerOptions{Level: level})
	return slog.New(flushAtWarn{h, ws}), ws.Stop
}

// flushAtWarn is a handler that flushes its buffer after every warning or
// error, so the buffer never holds back what an operator must see now.
type flushAtWarn struct {
	slog.Handler
	ws *zapcore.BufferedWriteSyncer
}

func (h flushAtWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		err = errors.Join(err, h.ws.Sync())
	}
	return err
}

func (h flushAtWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushAtWarn{h.Handler.WithAttrs(attrs), h.ws}
}

func (h flushAtWarn) WithGroup(name string) slog.Handler {
	return flushAtWarn{h.Handler.WithGroup(name), h.ws}
}

// BridgeRedis hands go-redis's messages (dial failures, pool warnings) to
// log, so they are JSON lines like the rest. go-redis logs through a
// package-level logger of its own: call this once, from main.
func BridgeRedis(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), "source", "go-redis")
}

// Tracing returns what OpenTelemetry's environment asks for: with
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set,
// a tracer provider that batches spans to that collector over OTLP/HTTP,
// configured by the exporter's own OTEL_EXPORTER_OTLP_* variables, with
// service.name "totp" unless OTEL_SERVICE_NAME says otherwise; without,
// nil: no spans, and no trace context read from requests. stop flushes
// the spans still batched.
func Tracing(ctx context.Context, getenv func(string) string, version string, log *slog.Logger) (tp trace.TracerProvider, stop func(context.Context) error, err error) {
	none := func(context.Context) error { return nil }
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, none, nil
	}
	// OpenTelemetry reports failed exports through a package-level logger
	// and error handler of its own, which write plain text to stderr by
	// default: both go through slog, as every line on stderr does.
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "err", err.Error())
	}))
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, none, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "totp"), attribute.String("service.version", version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, none, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return provider, provider.Shutdown, nil
}

// ServePprof serves the runtime profiles on a listener of their own, never
// on the API's port, so they are reachable only where the operator chose.
func ServePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// No /debug/pprof/cmdline: the command line may hold keys.
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("pprof listening: profiles show the process's memory and goroutines; keep the address private", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// Version is set, when it is not empty, else what the Go toolchain
// recorded: the module version, or the VCS revision of a build from a
// checkout.
func Version(set string) string {
	if set != "" {
		return set
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// CheckHealth asks the instance listening on addr for GET /healthz, so a
// container needs no shell or curl for its health check.
func CheckHealth(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}
