// Package events tells a login service, as it happens, that someone is
// attacking one of its users or the service: a secret locked, a subject's
// challenges locked, a recovery code used, the guard store full, a burst
// of wrong API keys. Each event is a structured log line and, with a
// receiver configured, a signed JSON webhook (the delivery webhook's
// signature), sent off the request path from a bounded queue with retries.
// Delivery is at most once: a full queue drops the newest event and counts
// it, and a crash loses what was queued.
package events

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acme/totp/delivery"
)

// The event types.
const (
	SecretLocked           = "secret.locked"
	SecretLockEscalated    = "secret.lock_escalated"
	ClientLocked           = "client.locked"
	ChallengeSubjectLocked = "challenge.subject_locked"
	RecoveryCodeUsed       = "recovery.code_used"
	GuardStoreFull         = "guard.store_full"
	GuardKeyShareExceeded  = "guard.key_share_exceeded"
	AuthKeyRejectedBurst   = "auth.key_rejected_burst"
)

// Event is what a receiver gets. It never holds a secret, a code or a
// token: a secret is named by its fingerprint.
type Event struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Key is the name of the API key the request came with.
	Key string `json:"key,omitempty"`
	// Context is the sealed secret's context, Subject a challenge's or
	// recovery set's subject, Client the client the request named: each
	// when the request had one.
	Context string `json:"context,omitempty"`
	Subject string `json:"subject,omitempty"`
	Client  string `json:"client,omitempty"`
	// SecretFingerprint names the secret (HMAC under GUARD_KEY).
	SecretFingerprint string `json:"secret_fingerprint,omitempty"`
	// RetryAfter is the lock's length in seconds; Locks how many locks
	// within a day, this one included.
	RetryAfter int `json:"retry_after,omitempty"`
	Locks      int `json:"locks,omitempty"`
	// Peer is the address of a burst of wrong API keys.
	Peer string `json:"peer,omitempty"`
}

// DefaultQueue is how many events wait for the receiver at most.
const DefaultQueue = 10_000

// Options configure a Sink.
type Options struct {
	// URL and Secret name the receiver; none: log lines only.
	URL    string
	Secret []byte
	// Queue bounds the events waiting (DefaultQueue).
	Queue int
	// PostTimeout bounds the tries of one event (10 s).
	PostTimeout time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

// Sink logs events and sends them to the receiver.
type Sink struct {
	log     *slog.Logger
	now     func() time.Time
	hook    *delivery.Hook
	queue   chan Event
	timeout time.Duration
	dropped atomic.Uint64
	sent    atomic.Uint64
	failed  atomic.Uint64
	done    chan struct{}
	mu      sync.RWMutex // held to send, and to close the queue
	closed  bool
}

// New returns the Sink o describes, and starts its sender when a receiver
// is configured. Close stops it.
func New(o Options) (*Sink, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sink{log: o.Log, now: o.Now, timeout: o.PostTimeout, done: make(chan struct{})}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if o.URL == "" {
		close(s.done)
		return s, nil
	}
	hook, err := delivery.NewHook(o.URL, o.Secret, nil)
	if err != nil {
		return nil, err
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	s.hook, s.queue = hook, make(chan Event, o.Queue)
	go s.run()
	return s, nil
}

// Emit logs e and queues it for the receiver, never waiting: with the
// queue full, e is dropped and counted. A nil Sink does nothing.
func (s *Sink) Emit(e Event) {
	if s == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	// The line names the event and the secret's fingerprint; subjects,
	// contexts and clients go only to the caller's own receiver.
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "security event",
		slog.String("type", e.Type), slog.String("key", e.Key), slog.String("secret_fingerprint", e.SecretFingerprint),
		slog.Int("retry_after", e.RetryAfter), slog.Int("locks", e.Locks))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.queue == nil || s.closed {
		return
	}
	select {
	case s.queue <- e:
	default:
		s.dropped.Add(1)
	}
}

func (s *Sink) run() {
	defer close(s.done)
	for e := range s.queue {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		if err := s.hook.Post(ctx, e); err != nil {
			s.failed.Add(1)
			s.log.LogAttrs(ctx, slog.LevelWarn, "security event not delivered", slog.String("type", e.Type), slog.String("err", err.Error()))
		} else {
			s.sent.Add(1)
		}
		cancel()
	}
}

// Dropped, Sent and Failed count the events dropped for a full queue,
// delivered, and given up on after their tries.
func (s *Sink) Dropped() uint64 {
	if s == nil {
		return 0
	}
	return s.dropped.Load()
}
func (s *Sink) Sent() uint64   { return s.sent.Load() }
func (s *Sink) Failed() uint64 { return s.failed.Load() }

// Close stops taking events and waits, at most wait, for the sender to
// deliver those queued; what is left then is lost.
func (s *Sink) Close(wait time.Duration) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.queue != nil && !s.closed {
		close(s.queue)
	}
	s.closed = true
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-time.After(wait):
	}
}
