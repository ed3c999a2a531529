// Package guard keeps the short-lived state that makes verification safe to
// expose to a login flow: which steps of a secret were already used (RFC
// 6238 section 5.2: a code is accepted once) and how many wrong codes were
// tried (RFC 4226 section 7.3: throttling). It never sees a secret or a
// code, only fingerprints of secrets and step numbers.
//
// State lives in a Store: Memory for one instance, Redis for a fleet.
package guard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/acme/totp/otp"
)

// ErrUnavailable means the store could not be reached; verification fails
// closed rather than accept a code it could not record.
var ErrUnavailable = errors.New("guard store unavailable")

// FullError means a store holds all the records it may, every one still
// live: the attempt is refused (fail closed) rather than forget a used code
// or a failure count. RetryAfter is when room may have been reclaimed.
type FullError struct {
	RetryAfter time.Duration
}

func (e *FullError) Error() string { return "guard store full" }

// ThrottledError means the secret failed too often; no answer about the
// code is given until RetryAfter has passed.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts; retry after %v", e.RetryAfter)
}

// Store keeps the guard's state. Each method is atomic, across goroutines
// and, for shared stores, across instances.
type Store interface {
	// Fail counts a failed attempt under key. The first failure opens a
	// window of the given length; Fail returns the failures counted in the
	// window so far, this one included, and how long the window still runs.
	Fail(ctx context.Context, key string, window time.Duration) (failures int, left time.Duration, err error)
	// Claim records c.Step as used under c.Key, unless c.FailKey holds
	// c.Limit failures or more (Locked, with how long the lock still runs)
	// or c.Key already holds a step at or after c.Step (Replayed).
	Claim(ctx context.Context, c Claim) (Verdict, error)
	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error
}

// Claim asks a Store to record one use.
type Claim struct {
	Key     string
	Step    uint64
	TTL     time.Duration // how long the record must outlive now
	FailKey string
	Limit   int
}

// Verdict is a Store's answer to a Claim.
type Verdict struct {
	Claimed bool
	// Locked is how long the lock on FailKey still runs, when it is in force.
	Locked time.Duration
}

// Reason says why a code is not valid.
type Reason string

// The reasons a verification is not valid.
const (
	Mismatch  Reason = "mismatch"
	Malformed Reason = "malformed"
	Replayed  Reason = "replayed"
	Stale     Reason = "stale"
)

// Result is the outcome of a guarded verification.
type Result struct {
	otp.Match
	Reason Reason // empty when Valid
}

// Verifier checks codes against a Store. With a nil Store the guard is off:
// codes may be reused and guessed without limit, and only AfterStep
// protects against replay. Set its fields before the first Verify and do
// not change them after.
type Verifier struct {
	Store Store
	// Key keys the fingerprints; instances sharing a Store must share it.
	Key []byte
	// MaxFailures failures inside FailureWindow lock a secret until the
	// window passes.
	MaxFailures   int
	FailureWindow time.Duration

	// macs keeps HMAC-SHA256 hashes under Key for reuse: crypto/hmac's
	// Reset restores the keyed state it saved, so the key is not hashed
	// into its pads again on every verification.
	macs sync.Pool
}

// Attempt is one verification.
type Attempt struct {
	Secret []byte // decoded, for the fingerprint
	Key    *otp.Key
	Token  string
	Now    time.Time
	Window otp.Window
	// AfterStep, when set, refuses any match at or before it (Stale): the
	// stateless replay guard for callers that store the last step.
	AfterStep *uint64
}

// Verify checks a.Token and records its outcome. A malformed token cannot
// succeed and is answered without touching the store. A wrong code counts
// as a failure before it is answered, and a right code is refused while the
// secret is locked, so concurrent guesses cannot exceed the limit.
func (v *Verifier) Verify(ctx context.Context, a Attempt) (Result, error) {
	match, err := a.Key.Verify(a.Token, a.Now, a.Window)
	if err == nil && match.Valid && a.AfterStep != nil && match.Step <= *a.AfterStep {
		return Result{Reason: Stale}, nil
	}
	return v.record(ctx, kindTOTP, a.Secret, a.Key.Params, match, err, useTTL(match.Step, a.Key.Params, a.Now))
}

// HOTPUsedTTL is how long an accepted HOTP counter is remembered. The
// caller stores next_counter, which refuses older codes for ever; the
// guard's record is what refuses a second use racing the first, or a
// caller that did not store.
const HOTPUsedTTL = time.Hour

// CounterAttempt is one HOTP verification: Token against the counters
// Counter to Counter+LookAhead, or, with Token2, a resynchronisation that
// looks for the two codes in a row.
type CounterAttempt struct {
	Secret    []byte // decoded, for the fingerprint
	Key       *otp.Key
	Token     string
	Token2    string // set for a resynchronisation
	Counter   uint64
	LookAhead int
}

// VerifyCounter checks a.Token against HOTP counters, or with a.Token2
// resynchronises, and records the outcome as Verify does. A matched
// counter at or below one already accepted for the secret is Replayed.
// HOTP uses are recorded apart from TOTP steps of the same secret; their
// failures count towards the same lock.
func (v *Verifier) VerifyCounter(ctx context.Context, a CounterAttempt) (Result, error) {
	var (
		match otp.Match
		err   error
	)
	if a.Token2 != "" {
		match, err = a.Key.Resync(a.Token, a.Token2, a.Counter, a.LookAhead)
	} else {
		match, err = a.Key.VerifyCounter(a.Token, a.Counter, a.LookAhead)
	}
	return v.record(ctx, kindHOTP, a.Secret, a.Key.Params, match, err, HOTPUsedTTL)
}

// record turns a match into a Result, recording it in the store when
// the guard is on.
func (v *Verifier) record(ctx context.Context, kind byte, secret []byte, p otp.Params, match otp.Match, err error, ttl time.Duration) (Result, error) {
	if errors.Is(err, otp.ErrMalformedToken) {
		return Result{Reason: Malformed}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if v.Store == nil {
		if !match.Valid {
			return Result{Reason: Mismatch}, nil
		}
		return Result{Match: match}, nil
	}
	// One HMAC names the secret; its uses are named inside that name by
	// what differs between them, which is no secret: a TOTP step of one
	// set of parameters, an HOTP counter of another, never collide.
	reason, err := Record(ctx, v.Store, Use{
		ID:      useName(kind, p),
		FailID:  v.fingerprint(secret),
		Matched: match.Valid,
		Step:    match.Step,
		TTL:     ttl,
		Limit:   v.MaxFailures,
		Window:  v.FailureWindow,
	})
	if err != nil || reason != "" {
		return Result{Reason: reason}, err
	}
	return Result{Match: match}, nil
}

// What a use counts: TOTP steps or HOTP counters. Failures of both count
// towards the one lock of the secret.
const (
	kindTOTP byte = 't'
	kindHOTP byte = 'h'
)

// useName names a kind of use of a secret: the kind and the parameters
// that change its codes, as in "t:SHA1:30:6:".
func useName(kind byte, p otp.Params) string {
	return fmt.Sprintf("%c:%s:%d:%d:%s", kind, p.Algorithm, p.Period, p.Digits, p.Encoder)
}

// Use is one attempt whose match is already known, for Record.
type Use struct {
	ID      string // names what is guarded: a fingerprint, a challenge
	FailID  string // names what failures count against; ID when empty
	Matched bool
	Step    uint64        // the matched step; a later use of it or of any before it is Replayed
	TTL     time.Duration // how long the use must be remembered
	Limit   int           // failures inside Window that lock ID
	Window  time.Duration
}

// Record stores the outcome of u in store, atomically, and returns why it
// is not valid ("" when it is). A wrong attempt counts as a failure before
// it is answered, and a right one is refused while ID is locked, so
// concurrent guesses cannot exceed the limit. Over the limit it returns a
// *ThrottledError; when the store is full, a *FullError; when it fails,
// ErrUnavailable.
func Record(ctx context.Context, store Store, u Use) (Reason, error) {
	// Both keys carry what failures count against as their hash tag, so a
	// Redis Cluster keeps them in one slot, where one script can read both.
	failKey, usedKey := "fail:{"+u.ID+"}", "used:{"+u.ID+"}"
	if u.FailID != "" {
		failKey, usedKey = "fail:{"+u.FailID+"}", "used:{"+u.FailID+"}"+u.ID
	}
	if !u.Matched {
		failures, left, err := store.Fail(ctx, failKey, u.Window)
		if err != nil {
			return "", storeError(err)
		}
		if failures > u.Limit {
			return "", &ThrottledError{RetryAfter: left}
		}
		return Mismatch, nil
	}
	verdict, err := store.Claim(ctx, Claim{Key: usedKey, Step: u.Step, TTL: u.TTL, FailKey: failKey, Limit: u.Limit})
	switch {
	case err != nil:
		return "", storeError(err)
	case verdict.Locked > 0:
		return "", &ThrottledError{RetryAfter: verdict.Locked}
	case !verdict.Claimed:
		return Replayed, nil
	}
	return "", nil
}

// storeError is what a store's error means to a caller: a full store as
// it is, anything else as ErrUnavailable. Both fail closed.
func storeError(err error) error {
	var full *FullError
	if errors.As(err, &full) {
		return full
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// useTTL keeps a used step until no verification could accept it again:
// until it leaves the widest window any request may ask for.
func useTTL(step uint64, p otp.Params, now time.Time) time.Duration {
	until := time.Unix(int64(step+otp.MaxSkew+1)*int64(p.Period), 0)
	return until.Sub(now)
}

// fingerprint names a secret without revealing it: HMAC-SHA256 under the
// deployment's key over the secret bytes. Two encodings of one secret are
// one fingerprint, and so are its uses under any parameters, so failures
// lock the secret whatever parameters the guesses came with.
func (v *Verifier) fingerprint(secret []byte) string {
	mac, ok := v.macs.Get().(hash.Hash)
	if !ok {
		mac = hmac.New(sha256.New, v.Key)
	}
	defer v.macs.Put(mac)
	mac.Reset()
	mac.Write(secret)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Ready reports whether the guard can record uses: always, when it is off.
func (v *Verifier) Ready(ctx context.Context) error {
	if v.Store == nil {
		return nil
	}
	if err := v.Store.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}
