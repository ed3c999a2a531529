// Command totp is a stateless TOTP utility API: it generates secrets, their
// enrolment URIs and QR codes, current codes, and verifies codes, for the
// services that keep their users' secrets. main reads the configuration,
// builds the domain services and hands them to handlers.New.
package main

// The generated documents: Swagger 2.0, OpenAPI 3, docs/ tables, Node types.
//go:generate go tool swag init -g handlers/doc.go -o docs --quiet --outputTypes go,json
//go:generate go run ./internal/openapi
//go:generate npm --prefix examples/node run --silent generate

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/config"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/events"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/recovery"
	"github.com/acme/totp/telemetry"
	"github.com/acme/totp/trust"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.0".
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		// Like every other line on stderr, the last one is JSON.
		telemetry.NewLogger(os.Stderr, slog.LevelInfo).Error("totp stopped", "err", err.Error())
		stop()
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. The first
// argument "healthcheck" instead asks a running instance for its health.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, err := config.Parse(args, getenv)
	switch {
	case err != nil:
		return err
	case cfg.Help:
		return nil
	case cfg.ShowVersion:
		_, err := fmt.Fprintln(stdout, telemetry.Version(version))
		return err
	case healthcheck:
		return telemetry.CheckHealth(ctx, cfg.Addr)
	}
	version := telemetry.Version(version)
	log, flushLog := telemetry.NewBufferedLogger(stderr, cfg.LogLevel)
	defer flushLog()
	log.Info("configuration", slog.Any("", cfg))
	telemetry.BridgeRedis(log)
	store, closeStore, err := guard.Open(guard.StoreOptions{Off: !cfg.Guard, Capacity: cfg.GuardCapacity, RedisURL: cfg.RedisURL, RedisMode: cfg.RedisMode, RedisPrefix: cfg.RedisPrefix}, log)
	if err != nil {
		return err
	}
	defer closeStore()
	var ring *access.Ring
	shared := store
	switch {
	case len(cfg.APIKeys) > 0:
		ring = access.NewRing(cfg.APIKeys)
		cfg.ReloadKeysOnHUP(ctx, ring, log)
		shared = guard.OwnerShare(store, cfg.KeyShareRecords())
	case !config.Loopback(cfg.Addr):
		log.Warn("ALLOW_NO_AUTH: no API keys and listening beyond loopback, so anyone who reaches this port can use the API")
	}
	tracing, stopTracing, err := telemetry.Tracing(ctx, getenv, version, log)
	if err != nil {
		return err
	}
	defer func() {
		// Flush the spans still batched, within a bound of their own.
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			log.Warn("traces not flushed", "err", err.Error())
		}
	}()

	if len(cfg.ChallengeKeys) == 0 {
		log.Warn("no CHALLENGE_KEYS: challenges are sealed with a random key, so they do not survive a restart or cross instances")
	}
	challenges, err := challenge.New(challenge.Options{
		Keys: cfg.ChallengeKeys, Store: shared, Now: time.Now, Random: rand.Reader, FingerprintKey: cfg.GuardKey,
		MaxAttempts: cfg.ChallengeMaxAttempts, SubjectMaxFailures: cfg.ChallengeSubjectMaxFailures, MinDigits: cfg.ChallengeMinDigits,
		ResendCooldown: cfg.ResendCooldown, MaxSends: cfg.MaxSends,
	})
	if err != nil {
		return err
	}
	var sealer *otp.Sealer // never a random key: it would lose every stored secret at a restart
	if len(cfg.SealKeys) > 0 {
		if sealer, err = otp.NewSealer(cfg.SealKeys, otp.SealerOptions{ContextOptional: cfg.SealContextOptional}); err != nil {
			return err
		}
	}
	var trusted *trust.Service // never a random key: it would sign every device out at a restart
	if len(cfg.TrustKeys) > 0 {
		if trusted, err = trust.New(trust.Options{Keys: cfg.TrustKeys, MaxAge: cfg.TrustMaxAge}); err != nil {
			return err
		}
	}
	cfg.Events.Log = log
	sink, err := events.New(cfg.Events)
	if err != nil {
		return err
	}
	defer sink.Close(5 * time.Second) // what is still queued then is lost
	cfg.Delivery.Now = time.Now
	deliverer, err := delivery.New(cfg.Delivery)
	if err != nil {
		return err
	}
	log.Info("delivery", "channels", deliverer.Channels())
	gin.SetMode(gin.ReleaseMode)
	handler, err := handlers.New(handlers.Config{
		Now: time.Now, Random: rand.Reader, Log: log,
		Verifier: guard.New(guard.Options{Store: shared, Key: cfg.GuardKey, MaxFailures: cfg.MaxFailures,
			FailureWindow: cfg.FailureWindow, SecretMaxFailures: cfg.SecretMaxFailures}),
		Store:      store,
		Challenges: challenges,
		Recovery: recovery.New(recovery.Options{Keys: cfg.RecoveryKeys, Store: shared, FingerprintKey: cfg.GuardKey,
			MaxFailures: cfg.MaxFailures, FailureWindow: cfg.FailureWindow}),
		Sealer:   sealer,
		Delivery: deliverer,
		Trust:    trusted,
		Events:   sink,
		Keys:     ring,
		Tracing:  tracing,
		Version:  version,
		Stopping: ctx.Done(),
	})
	if err != nil {
		return err
	}

	// Listen first so a busy port fails at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", version)
	if cfg.PprofAddr != "" {
		stopPprof, err := telemetry.ServePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	return handlers.Serve(ctx, ln, handler, log, cfg.ShutdownTimeout)
}
