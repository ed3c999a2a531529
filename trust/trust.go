// Package trust issues and checks remembered-device tokens: "trust this
// device for 30 days" without storing anything. A token is sealed by
// package seal under the trust keys and their own label, binding the
// user's immutable ID, the device's ID (kept in the device's cookie), an
// epoch the caller keeps per user, the first issue and the expiry; it
// slides forward on every check, never past a maximum age from the first
// issue. Raising the user's epoch revokes every token at once.
package trust

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/seal"
)

// Label starts every token: its format's version, bound as associated
// data, which sealed secrets and challenges (other labels) never share.
const Label = "t1"

// Bounds and defaults.
const (
	MaxSubjectLen = 320
	MaxDeviceLen  = 128
	DefaultTTL    = 30 * 24 * time.Hour
	MinTTL        = time.Hour
	MaxTTL        = 90 * 24 * time.Hour
	DefaultMaxAge = 90 * 24 * time.Hour
)

// Reasons a token is not valid.
const (
	Expired      = "expired"
	WrongSubject = "wrong_subject"
	WrongDevice  = "wrong_device"
	Revoked      = "revoked"
	InvalidToken = "invalid_token"
)

// Errors of this package.
var (
	ErrInvalidSubject = fault.New(fault.Invalid, api.CodeInvalidParameter, "subject", fmt.Sprintf("must be 1 to %d bytes", MaxSubjectLen))
	ErrInvalidDevice  = fault.New(fault.Invalid, api.CodeInvalidParameter, "device", fmt.Sprintf("must be 1 to %d bytes", MaxDeviceLen))
	ErrInvalidTTL     = fault.New(fault.Invalid, api.CodeInvalidParameter, "ttl",
		fmt.Sprintf("must be from %d to %d seconds (1 hour to 90 days)", int(MinTTL/time.Second), int(MaxTTL/time.Second)))
	// ErrNotConfigured means no TRUST_KEYS: tokens are neither issued nor
	// checked (never a random key, which would sign every user out at the
	// next restart).
	ErrNotConfigured = fault.New(fault.NotConfigured, api.CodeTrustNotConfigured, "",
		"this instance has no TRUST_KEYS, so it can neither issue nor check trusted-device tokens; start it with TRUST_KEYS=ID:KEY, KEY being 32 random bytes in base64")
)

// Options configure a Service; zero fields take their defaults.
type Options struct {
	// Keys seal tokens: the first seals, all open.
	Keys []seal.Key
	Now  func() time.Time
	// Random makes nonces: crypto/rand.Reader when nil.
	Random io.Reader
	// MaxAge is the longest a token slides from its first issue, after
	// which the user passes the second factor again (DefaultMaxAge).
	MaxAge time.Duration
}

// Service issues and checks tokens.
type Service struct {
	ring   *seal.Ring
	now    func() time.Time
	random io.Reader
	maxAge time.Duration
}

// New returns the Service o describes.
func New(o Options) (*Service, error) {
	if len(o.Keys) == 0 {
		return nil, errors.New("trust: no keys")
	}
	ring, err := seal.NewRing(Label, o.Keys)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	return &Service{ring: ring, now: o.Now, random: o.Random, maxAge: cmp.Or(max(o.MaxAge, 0), DefaultMaxAge)}, nil
}

// Token is an issued token and when it expires.
type Token struct {
	Text      string
	ExpiresAt time.Time
}

// sealed is what a token carries.
type sealed struct {
	subject, device [32]byte // SHA-256 of each
	epoch           uint64
	firstIssued     int64 // unix seconds
	expiresAt       int64
	ttl             int64 // seconds each check slides it by
}

const plainLen = 32 + 32 + 8 + 8 + 8 + 8

func digest(domain, v string) [32]byte {
	return sha256.Sum256([]byte(domain + "\x00" + v))
}

func check(subject, device string) error {
	switch {
	case subject == "" || len(subject) > MaxSubjectLen:
		return ErrInvalidSubject
	case device == "" || len(device) > MaxDeviceLen:
		return ErrInvalidDevice
	}
	return nil
}

// Issue returns a token for device of subject at epoch, valid for ttl
// (DefaultTTL when 0), after the caller has verified the second factor.
func (s *Service) Issue(subject, device string, epoch uint64, ttl time.Duration) (Token, error) {
	if err := check(subject, device); err != nil {
		return Token{}, err
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return Token{}, ErrInvalidTTL
	}
	now := s.now().Unix()
	p := sealed{subject: digest("subject", subject), device: digest("device", device), epoch: epoch,
		firstIssued: now, ttl: int64(ttl / time.Second)}
	return s.seal(p, now)
}

// seal seals p expiring a ttl from now, never past its maximum age.
func (s *Service) seal(p sealed, now int64) (Token, error) {
	p.expiresAt = min(now+p.ttl, p.firstIssued+int64(s.maxAge/time.Second))
	plain := make([]byte, 0, plainLen)
	plain = append(plain, p.subject[:]...)
	plain = append(plain, p.device[:]...)
	plain = binary.BigEndian.AppendUint64(plain, p.epoch)
	plain = binary.BigEndian.AppendUint64(plain, uint64(p.firstIssued))
	plain = binary.BigEndian.AppendUint64(plain, uint64(p.expiresAt))
	plain = binary.BigEndian.AppendUint64(plain, uint64(p.ttl))
	text, err := s.ring.Seal(s.random, plain, nil)
	return Token{Text: text, ExpiresAt: time.Unix(p.expiresAt, 0)}, err
}

func (s *Service) open(text string) (sealed, bool) {
	plain, _, err := s.ring.Open(text, nil)
	if err != nil || len(plain) != plainLen {
		return sealed{}, false
	}
	var p sealed
	copy(p.subject[:], plain)
	copy(p.device[:], plain[32:])
	p.epoch = binary.BigEndian.Uint64(plain[64:])
	p.firstIssued = int64(binary.BigEndian.Uint64(plain[72:]))
	p.expiresAt = int64(binary.BigEndian.Uint64(plain[80:]))
	p.ttl = int64(binary.BigEndian.Uint64(plain[88:]))
	return p, true
}

// Result is the outcome of a check: Valid with a refreshed token, or the
// Reason it is not.
type Result struct {
	Valid  bool
	Reason string
	Token  Token
}

// Verify checks text for device of subject at the caller's epoch, and
// when it holds returns it refreshed: a ttl from now, never beyond the
// maximum age from the first issue. Every token that does not open, for
// whatever cause, is InvalidToken.
func (s *Service) Verify(text, subject, device string, epoch uint64) (Result, error) {
	if err := check(subject, device); err != nil {
		return Result{}, err
	}
	p, ok := s.open(text)
	if !ok {
		return Result{Reason: InvalidToken}, nil
	}
	wantSubject, wantDevice := digest("subject", subject), digest("device", device)
	now := s.now().Unix()
	switch {
	case subtle.ConstantTimeCompare(wantSubject[:], p.subject[:]) != 1:
		return Result{Reason: WrongSubject}, nil
	case subtle.ConstantTimeCompare(wantDevice[:], p.device[:]) != 1:
		return Result{Reason: WrongDevice}, nil
	case p.epoch != epoch:
		// The caller's epoch moved on: every earlier token is revoked.
		return Result{Reason: Revoked}, nil
	case now >= p.expiresAt:
		return Result{Reason: Expired}, nil
	}
	t, err := s.seal(p, now)
	if err != nil {
		return Result{}, err
	}
	return Result{Valid: true, Token: t}, nil
}
