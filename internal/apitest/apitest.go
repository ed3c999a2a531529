// Package apitest holds the settings the handler tests, the client's tests
// and the benchmarks build the service from: main's defaults (the guard
// on, in memory), on a clock the caller owns, logging JSON at debug level.
// The wiring itself is handlers.New, the same as main's.
package apitest

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/acme/totp/access"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/seal"
)

// Limits of the guard as set here.
const (
	MaxFailures   = 5
	FailureWindow = 5 * time.Minute
)

// ChallengeKey seals the challenges of every service configured here.
var ChallengeKey = seal.Key{ID: "c", Secret: bytes.Repeat([]byte{7}, seal.KeyLen)}

// SealKey seals the secrets of every service configured here.
var SealKey = seal.Key{ID: "test", Secret: bytes.Repeat([]byte{9}, seal.KeyLen)}

// Config returns the service's configuration on the clock now, logging
// JSON lines to log (slog's handler writes each line whole, under its own
// lock). Change its fields before calling New.
func Config(now func() time.Time, log io.Writer) handlers.Config {
	return handlers.Config{
		Now:           now,
		Random:        rand.Reader,
		Log:           slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:         guard.NewMemory(0),
		GuardKey:      []byte("test fingerprint key"),
		MaxFailures:   MaxFailures,
		FailureWindow: FailureWindow,
		ChallengeKeys: []seal.Key{ChallengeKey},
		SealKeys:      []seal.Key{SealKey},
		Version:       "test",
	}
}

// New is handlers.New for a configuration that cannot fail.
func New(cfg handlers.Config) http.Handler {
	h, err := handlers.New(cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// Keys is a ring of keys written as API_KEYS is, for tests.
func Keys(tb testing.TB, list string) *access.Ring {
	tb.Helper()
	keys, err := access.ParseList(list)
	if err != nil {
		tb.Fatal(err)
	}
	return access.NewRing(keys)
}
