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

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
)

// Errors of the guard. Each fails closed: no code is accepted that could
// not be recorded.
var (
	// ErrUnavailable means the store could not be reached.
	ErrUnavailable = fault.New(fault.Unavailable, api.CodeStoreUnavailable, "",
		"the guard store cannot be reached, so no code can be accepted now; retry shortly")
	// ErrFull means a store holds all the records it may, every one still
	// live: the attempt is refused rather than forget a used code or a
	// failure count. Its RetryAfter is when room may have been reclaimed.
	ErrFull = fault.New(fault.Unavailable, api.CodeStoreFull, "",
		"the guard store is full, so this attempt cannot be recorded and no code can be accepted for a new secret now; retry shortly")
	// ErrThrottled means a record failed too often; no answer about the
	// code is given until its RetryAfter has passed.
	ErrThrottled = fault.New(fault.Throttled, api.CodeTooManyAttempts, "", "too many failed attempts")
	// ErrShare means the caller (an API key) holds as many records as its
	// share of the store allows, and this attempt would need one more.
	// Right and wrong codes are refused alike; other callers are not
	// affected.
	ErrShare = fault.New(fault.Throttled, api.CodeRateLimited, "",
		"this API key holds its whole share of the guard store, so no attempt needing a new record can be taken from it now")
)

// waiting is err advising a retry after d, in its detail too.
func waiting(err *fault.Error, d time.Duration) error {
	return err.Wait(d).Explain(fmt.Sprintf("retry in %d seconds", fault.Seconds(d)))
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
	// Lock, when set, is the lock this attempt's failure just set: the
	// moment a login service wants to hear of.
	Lock *Lock
}

// Lock is a lock an attempt's failure set.
type Lock struct {
	// Client says it is one client's record of the secret that locked,
	// not the secret's own.
	Client bool
	// Count is the locks of that record within a day, this one included:
	// past 1 the lock escalated.
	Count int
	// For is how long it runs.
	For time.Duration
	// Fingerprint names the secret (an HMAC under the guard's key),
	// never revealing it.
	Fingerprint string
}

// Length is how long the Count-th lock within a day of l runs.
func (l Limit) Length(count int) time.Duration {
	lock := l.Window
	for i := 1; i < count && lock < l.MaxLock; i++ {
		lock *= 2
	}
	if l.MaxLock > l.Window {
		lock = min(lock, l.MaxLock)
	}
	return lock
}

// Defaults of Options.
const (
	DefaultMaxFailures   = 5
	DefaultFailureWindow = 5 * time.Minute
	DefaultMaxLock       = 24 * time.Hour
	// SecretCeilingFactor sets the default ceiling over all clients of a
	// secret: this many times MaxFailures.
	SecretCeilingFactor = 4
)

// MaxClientLen bounds the client an attempt names.
const MaxClientLen = 128

// ErrClientTooLong means a client over MaxClientLen.
var ErrClientTooLong = fault.New(fault.Invalid, api.CodeInvalidParameter, "client", fmt.Sprintf("must be at most %d bytes", MaxClientLen))

// NewCaller is the caller owner (the API key's name) and client name.
func NewCaller(owner, client string) (Caller, error) {
	if len(client) > MaxClientLen {
		return Caller{}, ErrClientTooLong
	}
	return Caller{Owner: owner, Client: client}, nil
}

// Options configure a Verifier; zero fields take their defaults.
type Options struct {
	// Store keeps the records; nil turns the guard off: codes may be
	// reused and guessed without limit, and only AfterStep protects
	// against replay.
	Store Store
	// Key keys the fingerprints; instances sharing a Store must share it.
	Key []byte
	// MaxFailures wrong codes within FailureWindow lock a secret, or with
	// a client named, that client of the secret.
	MaxFailures   int
	FailureWindow time.Duration
	// SecretMaxFailures wrong codes from every client together lock the
	// secret (SecretCeilingFactor × MaxFailures by default).
	SecretMaxFailures int
	// MaxLock caps the escalation: each lock within a day doubles the
	// last, from FailureWindow up to MaxLock.
	MaxLock time.Duration
}

// Verifier checks codes against a Store.
type Verifier struct {
	store   Store
	key     []byte
	secret  Limit // of a secret verified without a client
	ceiling Limit // of a secret over all its clients
	client  Limit // of one client of a secret

	// macs keeps HMAC-SHA256 hashes under key for reuse: crypto/hmac's
	// Reset restores the keyed state it saved, so the key is not hashed
	// into its pads again on every verification.
	macs sync.Pool
}

// New returns a Verifier with o's zero fields filled by their defaults.
func New(o Options) *Verifier {
	if o.MaxFailures < 1 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = DefaultFailureWindow
	}
	if o.SecretMaxFailures < 1 {
		o.SecretMaxFailures = SecretCeilingFactor * o.MaxFailures
	}
	if o.MaxLock <= 0 {
		o.MaxLock = DefaultMaxLock
	}
	lim := func(n int) Limit { return Limit{Max: n, Window: o.FailureWindow, MaxLock: o.MaxLock} }
	return &Verifier{
		store: o.Store, key: o.Key,
		secret: lim(o.MaxFailures), ceiling: lim(o.SecretMaxFailures), client: lim(o.MaxFailures),
	}
}

// Caller is who makes an attempt.
type Caller struct {
	// Owner names the API key the attempt came with: its records count
	// against its share of the store. "" without keys.
	Owner string
	// Client is the end user's address or device as the caller knows it,
	// at most MaxClientLen bytes: failures then lock that client of the
	// secret, and the secret only past its ceiling over all clients. ""
	// counts failures against the secret alone.
	Client string
}

// Attempt is one verification.
type Attempt struct {
	Caller
	Key    *otp.Key // its Secret is what the guard fingerprints
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
	return v.record(ctx, a.Caller, a.Now, a.Key.Secret(), Use{Slot: slotTOTP, Step: match.Step, TTL: useTTL(match.Step, a.Key.Params, a.Now)}, kindTOTP, a.Key.Params, match, err)
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
	Caller
	Key       *otp.Key // its Secret is what the guard fingerprints
	Token     string
	Token2    string // set for a resynchronisation
	Counter   uint64
	LookAhead int
	Now       time.Time
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
	return v.record(ctx, a.Caller, a.Now, a.Key.Secret(), Use{Slot: slotHOTP, Step: match.Step, TTL: HOTPUsedTTL}, kindHOTP, a.Key.Params, match, err)
}

// record turns a match into a Result, recording it in the store when
// the guard is on.
func (v *Verifier) record(ctx context.Context, who Caller, now time.Time, secret []byte, use Use, kind byte, p otp.Params, match otp.Match, err error) (Result, error) {
	if err != nil {
		return Result{}, err
	}
	if match.Malformed {
		return Result{Reason: Malformed}, nil
	}
	if v.store == nil {
		if !match.Valid {
			return Result{Reason: Mismatch}, nil
		}
		return Result{Match: match}, nil
	}
	// One HMAC names the secret, and tags every record of it; its uses
	// are told apart inside the record by what differs between them,
	// which is no secret: a TOTP step of one set of parameters, an HOTP
	// counter of another, never collide.
	if match.Valid {
		// Only a claim reads the use's name: a wrong code is not spent
		// on formatting it.
		use.Name = useName(kind, p)
	}
	fp := v.fingerprint(nil, secret)
	op := Op{Now: now, Tag: "s:" + fp, Owner: who.Owner, Matched: match.Valid, Use: use}
	if who.Client == "" {
		op.Records = []Record{{Key: "", Limit: v.secret}}
	} else {
		op.Records = []Record{{Key: "", Limit: v.ceiling}, {Key: "c:" + v.fingerprint([]byte("client\x00"), []byte(who.Client)), Limit: v.client}}
	}
	out, err := Decide(ctx, v.store, op)
	if err != nil {
		return Result{}, err
	}
	reason, err := reasonOf(out)
	if err != nil || reason != "" {
		r := Result{Reason: reason}
		if out.Verdict == Failed && out.Locks > 0 {
			r.Lock = &Lock{Client: out.LockedRecord == 1, Count: out.Locks, For: op.Records[out.LockedRecord].Limit.Length(out.Locks), Fingerprint: fp}
		}
		return r, err
	}
	return Result{Match: match}, nil
}

// OwnerShare returns store with every op's owner held to at most max live
// records (past it, ops that need a new record are refused with a
// ErrShare), so no caller can fill the store for the others. max < 1
// returns store as it is.
func OwnerShare(store Store, max int) Store {
	if store == nil || max < 1 {
		return store
	}
	return shared{store, max}
}

type shared struct {
	Store
	max int
}

func (s shared) Apply(ctx context.Context, op Op) (Outcome, error) {
	op.OwnerMax = s.max
	return s.Store.Apply(ctx, op)
}

// Slots of a secret's record: its TOTP steps and its HOTP counters.
const (
	slotTOTP = 0
	slotHOTP = 1
)

// What a use counts: TOTP steps or HOTP counters.
const (
	kindTOTP byte = 't'
	kindHOTP byte = 'h'
)

// useName names a kind of use of a secret: the kind and the parameters
// that change its codes, as in "t:SHA1:30:6:".
func useName(kind byte, p otp.Params) string {
	return fmt.Sprintf("%c:%s:%d:%d:%s", kind, p.Algorithm, p.Period, p.Digits, p.Encoder)
}

// Decide applies op to store and returns its outcome. A wrong attempt
// counts as a failure before it is answered, and a right one is refused
// while a record is locked, so concurrent guesses cannot exceed the
// limit. An owner past its share is ErrShare; a full store ErrFull; a
// store that fails ErrUnavailable. All of them fail closed.
func Decide(ctx context.Context, store Store, op Op) (Outcome, error) {
	out, err := store.Apply(ctx, op)
	switch {
	case errors.Is(err, ErrFull):
		return out, err
	case err != nil:
		return out, ErrUnavailable.Because(err)
	case out.Verdict == OverShare:
		return out, waiting(ErrShare, out.RetryAfter)
	}
	return out, nil
}

// Apply is Decide's outcome as why the attempt is not valid ("" when it
// is), a lock being ErrThrottled.
func Apply(ctx context.Context, store Store, op Op) (Reason, error) {
	out, err := Decide(ctx, store, op)
	if err != nil {
		return "", err
	}
	return reasonOf(out)
}

// reasonOf is an outcome as why the attempt is not valid.
func reasonOf(out Outcome) (Reason, error) {
	switch out.Verdict {
	case Accepted:
		return "", nil
	case Failed:
		return Mismatch, nil
	case Reused:
		return Replayed, nil
	case Locked:
		return "", waiting(ErrThrottled, out.RetryAfter)
	}
	return "", ErrUnavailable.Because(fmt.Errorf("unknown result %d", out.Verdict))
}

// useTTL keeps a used step until no verification could accept it again:
// until it ends, and then as far as a window reaches back.
func useTTL(step uint64, p otp.Params, now time.Time) time.Duration {
	period := time.Duration(p.Period) * time.Second
	end := time.Unix(int64(step+1)*int64(p.Period), 0)
	return end.Add(max(period, otp.MaxPastReach)).Sub(now)
}

// fingerprint names a value without revealing it: HMAC-SHA256 under the
// deployment's key over domain and the value. A secret's domain is empty,
// so two encodings of one secret are one fingerprint, and so are its uses
// under any parameters: failures lock the secret whatever parameters the
// guesses came with.
func (v *Verifier) fingerprint(domain, value []byte) string {
	mac, ok := v.macs.Get().(hash.Hash)
	if !ok {
		mac = hmac.New(sha256.New, v.key)
	}
	defer v.macs.Put(mac)
	mac.Reset()
	mac.Write(domain)
	mac.Write(value)
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(mac.Sum(sum[:0]))
}

// Ready reports whether the guard can record uses: always, when it is off.
func (v *Verifier) Ready(ctx context.Context) error {
	if v.store == nil {
		return nil
	}
	if err := v.store.Ping(ctx); err != nil {
		return ErrUnavailable.Because(err)
	}
	return nil
}
