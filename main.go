// Command totp is a stateless TOTP utility API: it generates secrets, their
// enrolment URIs and QR codes, current codes, and verifies codes, for the
// services that keep their users' secrets.
//
//	@title						TOTP service
//	@version					1.0
//	@description				Stateless RFC 6238 TOTP utility API. The caller keeps each user's secret; this service generates secrets, Key URIs and QR codes, and generates and verifies codes. Every error is an RFC 9457 problem+json answer with a stable `code`.
//	@BasePath					/
//	@accept						json
//	@produce					json
//	@tag.name					secrets
//	@tag.description			New secrets, Key URIs and QR codes
//	@tag.name					tokens
//	@tag.description			Current codes and verification
//	@tag.name					operations
//	@tag.description			Health
//	@tag.name					original routes
//	@tag.description			The original service's route forms, kept for callers migrating without change
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/handlers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "totp:", err)
		os.Exit(1)
	}
}

// config is everything the service reads at start.
type config struct {
	addr            string
	logLevel        slog.Level
	shutdownTimeout time.Duration
}

// parseConfig reads flags, each falling back to an environment variable and
// then to its default.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("totp", flag.ContinueOnError)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	defaultAddr := ":8080"
	if port := getenv("PORT"); port != "" {
		defaultAddr = ":" + port
	}
	var (
		cfg      config
		logLevel string
		err      error
	)
	fs.StringVar(&cfg.addr, "addr", env("ADDR", defaultAddr), "listen address (env ADDR; PORT when ADDR is unset)")
	fs.StringVar(&logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	shutdown := fs.String("shutdown-timeout", env("SHUTDOWN_TIMEOUT", "10s"), "how long in-flight requests may run after SIGTERM (env SHUTDOWN_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("log level: %w", err)
	}
	if cfg.shutdownTimeout, err = time.ParseDuration(*shutdown); err != nil {
		return cfg, fmt.Errorf("shutdown timeout: %w", err)
	}
	return cfg, nil
}

// run serves until ctx is done, then shuts down gracefully. The first
// argument "healthcheck" instead asks a running instance for its health,
// so a container needs no shell or curl.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	if healthcheck {
		return checkHealth(ctx, cfg.addr)
	}

	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel}))
	gin.SetMode(gin.ReleaseMode)
	api := &handlers.Server{Now: time.Now, Random: rand.Reader, Log: log}

	// Listen first so a busy port fails at once.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// checkHealth asks the instance listening on addr for GET /healthz.
func checkHealth(ctx context.Context, addr string) error {
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
