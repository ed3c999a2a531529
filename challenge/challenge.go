// Package challenge issues and checks the one-time codes a service sends by
// email or SMS, without storing them: everything the check needs travels
// inside the challenge itself, sealed by package seal (AES-256-GCM) under
// the challenges' own keys and label, and only its single
// use and failed attempts are recorded, in the guard's store.
package challenge

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/acme/totp/guard"
	"github.com/acme/totp/seal"
)

// Bounds and defaults of a challenge.
const (
	MinDigits, MaxDigits, DefaultDigits = 4, 10, 6
	MinTTL, MaxTTL, DefaultTTL          = 30 * time.Second, 900 * time.Second, 600 * time.Second
	MaxSubjectLen                       = 320
	MaxPurposeLen                       = 64
	DefaultMaxAttempts                  = 5
)

// Errors returned by this package.
var (
	ErrInvalidDigits  = errors.New("digits out of range")
	ErrInvalidTTL     = errors.New("ttl out of range")
	ErrInvalidSubject = errors.New("subject empty or too long")
	ErrInvalidPurpose = errors.New("purpose too long")
	// ErrNoStore means challenges cannot be checked: without the guard's
	// store they could be used twice and guessed without limit.
	ErrNoStore = errors.New("challenges need the guard's store")
)

// Reasons a code is not valid, beyond guard's Mismatch and Replayed.
const (
	Expired          guard.Reason = "expired"
	InvalidChallenge guard.Reason = "invalid_challenge"
	WrongSubject     guard.Reason = "wrong_subject"
	TooManyAttempts  guard.Reason = "too_many_attempts"
)

// Label starts every challenge: its format's version, bound as associated
// data, which sealed secrets (another label) never share.
const Label = "c1"

// Service issues and checks challenges.
type Service struct {
	ring  *seal.Ring
	store guard.Store
	now   func() time.Time
	rand  io.Reader
	// MaxAttempts wrong codes kill a challenge.
	MaxAttempts int
}

// New returns a Service sealing with keys[0] and opening with any of keys,
// so keys can rotate without breaking challenges in flight. store records
// uses and failures; it may be nil, and then Verify answers ErrNoStore.
func New(keys []seal.Key, store guard.Store, now func() time.Time, random io.Reader) (*Service, error) {
	ring, err := seal.NewRing(Label, keys)
	if err != nil {
		return nil, err
	}
	return &Service{ring: ring, store: store, now: now, rand: random, MaxAttempts: DefaultMaxAttempts}, nil
}

// Request asks for a new challenge.
type Request struct {
	Subject string // whom the code is sent to: an email address, a phone number
	Purpose string // what it is for, e.g. "login"; may be empty
	Digits  int
	TTL     time.Duration
}

// Issued is a new challenge and the code to deliver.
type Issued struct {
	Challenge string
	Code      string
	ExpiresAt time.Time
}

// sealed is what a challenge carries.
type sealed struct {
	id        [16]byte
	expiresAt int64    // unix seconds
	code      []byte   // the digits
	binding   [32]byte // SHA-256 of subject and purpose
}

// binding ties a challenge to its subject and purpose without carrying
// them, which keeps challenges short.
func binding(subject, purpose string) [32]byte {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(subject)))
	h.Write(n[:])
	h.Write([]byte(subject))
	h.Write([]byte(purpose))
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// Issue makes a challenge for r: a random code of r.Digits digits and the
// sealed challenge that checks it until r.TTL has passed.
func (s *Service) Issue(r Request) (Issued, error) {
	switch {
	case r.Subject == "" || len(r.Subject) > MaxSubjectLen:
		return Issued{}, ErrInvalidSubject
	case len(r.Purpose) > MaxPurposeLen:
		return Issued{}, ErrInvalidPurpose
	case r.Digits < MinDigits || r.Digits > MaxDigits:
		return Issued{}, ErrInvalidDigits
	case r.TTL < MinTTL || r.TTL > MaxTTL:
		return Issued{}, ErrInvalidTTL
	}
	n, err := rand.Int(s.rand, big.NewInt(0).Exp(big.NewInt(10), big.NewInt(int64(r.Digits)), nil))
	if err != nil {
		return Issued{}, fmt.Errorf("random code: %w", err)
	}
	code := fmt.Sprintf("%0*d", r.Digits, n)
	expires := s.now().Add(r.TTL).Truncate(time.Second)
	p := sealed{expiresAt: expires.Unix(), code: []byte(code), binding: binding(r.Subject, r.Purpose)}
	if _, err := io.ReadFull(s.rand, p.id[:]); err != nil {
		return Issued{}, fmt.Errorf("random id: %w", err)
	}
	text, err := s.seal(p)
	if err != nil {
		return Issued{}, err
	}
	return Issued{Challenge: text, Code: code, ExpiresAt: expires}, nil
}

// Layout of the plaintext: id, expiry, binding, digits count, digits.
const plainFixed = 16 + 8 + 32 + 1

func (s *Service) seal(p sealed) (string, error) {
	plain := make([]byte, 0, plainFixed+len(p.code))
	plain = append(plain, p.id[:]...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(p.expiresAt))
	plain = append(plain, p.binding[:]...)
	plain = append(plain, byte(len(p.code)))
	plain = append(plain, p.code...)

	return s.ring.Seal(s.rand, plain, nil)
}

// open returns what text carries, or false when no key opens it: a
// changed bit anywhere, an unknown key or a foreign string.
func (s *Service) open(text string) (sealed, bool) {
	plain, _, err := s.ring.Open(text, nil)
	if err != nil || len(plain) < plainFixed || int(plain[plainFixed-1]) != len(plain)-plainFixed {
		return sealed{}, false
	}
	var p sealed
	copy(p.id[:], plain)
	p.expiresAt = int64(binary.BigEndian.Uint64(plain[16:]))
	copy(p.binding[:], plain[24:])
	p.code = plain[plainFixed:]
	return p, true
}

// Check is one attempt at a challenge.
type Check struct {
	Challenge string
	Code      string
	// Numeric says Code came as a number, which loses leading zeros: it is
	// padded to the challenge's length.
	Numeric bool
	Subject string
	Purpose string
}

// Verify checks c and records its outcome: it returns "" when the code is
// right, or why not. A challenge verifies once; after MaxAttempts wrong
// codes it is dead, whatever follows. Codes are compared in constant time.
func (s *Service) Verify(ctx context.Context, c Check) (guard.Reason, error) {
	if s.store == nil {
		return "", ErrNoStore
	}
	p, ok := s.open(c.Challenge)
	if !ok {
		return InvalidChallenge, nil
	}
	want := binding(c.Subject, c.Purpose)
	if subtle.ConstantTimeCompare(want[:], p.binding[:]) != 1 {
		return WrongSubject, nil
	}
	now := s.now()
	left := time.Unix(p.expiresAt, 0).Sub(now)
	if left <= 0 {
		return Expired, nil
	}
	left = max(left, time.Second) // stores count in milliseconds at least
	code := bytes.ReplaceAll([]byte(c.Code), []byte(" "), nil)
	if c.Numeric && len(code) < len(p.code) {
		code = append(bytes.Repeat([]byte("0"), len(p.code)-len(code)), code...)
	}
	matched := subtle.ConstantTimeCompare(code, p.code) == 1
	reason, err := guard.Record(ctx, s.store, guard.Use{
		ID:      "chal:" + base64.RawURLEncoding.EncodeToString(p.id[:]),
		Matched: matched,
		Step:    1,
		TTL:     left,
		Limit:   s.MaxAttempts,
		Window:  left,
	})
	var throttled *guard.ThrottledError
	if errors.As(err, &throttled) {
		return TooManyAttempts, nil
	}
	return reason, err
}
