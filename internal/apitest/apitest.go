// Package apitest builds the service's handlers for tests and benchmarks,
// wired as main wires them by default: the guard on, in memory, shared by
// challenges and recovery codes, with metrics, on a clock the caller owns.
package apitest

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/recovery"
)

// Limits of the guard as wired here.
const (
	MaxFailures   = 5
	FailureWindow = 5 * time.Minute
)

// ChallengeKey seals the challenges of every Server made here.
var ChallengeKey = bytes.Repeat([]byte{7}, challenge.KeyLen)

// NewServer returns a Server on the clock now, logging JSON to log at
// debug level, access lines included. Change its fields before calling Handler.
func NewServer(now func() time.Time, log io.Writer) *handlers.Server {
	store := guard.NewMemory(now, 0)
	challenges, err := challenge.New([][]byte{ChallengeKey}, store, now, rand.Reader)
	if err != nil {
		panic(err) // ChallengeKey has the right length
	}
	log = &lockedWriter{w: log}
	return &handlers.Server{
		Now:    now,
		Random: rand.Reader,
		Log:    slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Access: log,
		Verifier: &guard.Verifier{
			Store:         store,
			Key:           []byte("test fingerprint key"),
			MaxFailures:   MaxFailures,
			FailureWindow: FailureWindow,
		},
		Challenges: challenges,
		Recovery:   &recovery.Service{Store: store, MaxFailures: MaxFailures, FailureWindow: FailureWindow},
		Metrics:    handlers.NewMetrics(),
		Version:    "test",
	}
}

// WithoutGuard turns s's guard off as GUARD=off does: no store for codes,
// challenges or recovery codes.
func WithoutGuard(s *handlers.Server) {
	s.Verifier.Store = nil
	s.Recovery.Store = nil
	challenges, err := challenge.New([][]byte{ChallengeKey}, nil, s.Now, rand.Reader)
	if err != nil {
		panic(err)
	}
	s.Challenges = challenges
}

// lockedWriter lets the error log and the access lines, each written from
// many requests at once, share one writer, as main's batched writer does.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
