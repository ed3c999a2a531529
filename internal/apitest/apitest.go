// Package apitest builds the service for the handler tests, the client's
// tests, the OpenAPI example recorder and the benchmarks: main's defaults
// (the guard on, in memory), on a clock the caller owns, logging JSON at
// debug level, with its domain services built as main builds them.
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
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/events"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/recovery"
	"github.com/acme/totp/seal"
	"github.com/acme/totp/trust"
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

// GuardKey keys the fingerprints of every service configured here.
var GuardKey = []byte("test fingerprint key")

// Options are the settings a test may change before New.
type Options struct {
	Now    func() time.Time
	Random io.Reader
	Log    *slog.Logger
	// Store is the guard's; nil turns the guard off.
	Store         guard.Store
	MaxFailures   int
	ChallengeKeys []seal.Key
	// SealKeys: none answers sealing_not_configured.
	SealKeys            []seal.Key
	SealContextOptional bool
	RecoveryKeys        []seal.Key
	QRConcurrency       int
	// Keys and KeyShare: with keys, each key may hold KeyShare records.
	Keys     *access.Ring
	KeyShare int
	// Events, when set, receives the security events; nil: none.
	Events *events.Sink
	// Trust, when set, issues trusted-device tokens; nil: none.
	Trust *trust.Service
	// Delivery, when set, sends codes (challenge channels); nil: none.
	Delivery *delivery.Deliverer
	// ResendCooldown and MaxSends pace sends (challenge's defaults when 0).
	ResendCooldown time.Duration
	MaxSends       int
	// Stopping, when closed, tells the service it is shutting down.
	Stopping <-chan struct{}
}

// Config returns the service's settings on the clock now, logging JSON
// lines to log (slog's handler writes each line whole, under its own
// lock).
func Config(now func() time.Time, log io.Writer) Options {
	return Options{
		Now:           now,
		Random:        rand.Reader,
		Log:           slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Store:         guard.NewMemory(0),
		MaxFailures:   MaxFailures,
		ChallengeKeys: []seal.Key{ChallengeKey},
		SealKeys:      []seal.Key{SealKey},
	}
}

// Handler builds the domain services o describes, as main does, and the
// router over them.
func (o Options) Handler() (http.Handler, error) {
	store := o.Store
	if o.Keys != nil {
		store = guard.OwnerShare(store, o.KeyShare)
	}
	challenges, err := challenge.New(challenge.Options{
		Keys: o.ChallengeKeys, Store: store, Now: o.Now, Random: o.Random, FingerprintKey: GuardKey,
		ResendCooldown: o.ResendCooldown, MaxSends: o.MaxSends,
	})
	if err != nil {
		return nil, err
	}
	var sealer *otp.Sealer
	if len(o.SealKeys) > 0 {
		if sealer, err = otp.NewSealer(o.SealKeys, otp.SealerOptions{Random: o.Random, ContextOptional: o.SealContextOptional}); err != nil {
			return nil, err
		}
	}
	return handlers.New(handlers.Config{
		Now: o.Now, Random: o.Random, Log: o.Log,
		Verifier:   guard.New(guard.Options{Store: store, Key: GuardKey, MaxFailures: o.MaxFailures, FailureWindow: FailureWindow}),
		Store:      o.Store,
		Challenges: challenges,
		Recovery: recovery.New(recovery.Options{
			Keys: o.RecoveryKeys, Store: store, Now: o.Now, FingerprintKey: GuardKey, MaxFailures: o.MaxFailures, FailureWindow: FailureWindow,
		}),
		Sealer:        sealer,
		Delivery:      o.Delivery,
		Trust:         o.Trust,
		Events:        o.Events,
		QRConcurrency: o.QRConcurrency,
		Keys:          o.Keys,
		Version:       "test",
		Stopping:      o.Stopping,
	})
}

// New is Handler for settings that cannot fail.
func New(o Options) http.Handler {
	h, err := o.Handler()
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
