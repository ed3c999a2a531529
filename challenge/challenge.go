// Package challenge issues and checks the one-time codes a service sends by
// email or SMS, without storing them: everything the check needs travels
// inside the challenge itself, sealed by package seal (AES-256-GCM) under
// the challenges' own keys and label, and only its single
// use and failed attempts are recorded, in the guard's store.
package challenge

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
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

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/seal"
)

// Bounds and defaults of a challenge.
const (
	MinDigits, MaxDigits, DefaultDigits = 4, 10, 6
	// DefaultMinDigits is the fewest digits a challenge may have unless
	// Options.MinDigits lowers it: 4 digits fall to a few thousand
	// re-issues, even with every limit below.
	DefaultMinDigits           = 6
	MinTTL, MaxTTL, DefaultTTL = 30 * time.Second, 900 * time.Second, 600 * time.Second
	MaxSubjectLen              = 320
	MaxPurposeLen              = 64
	DefaultMaxAttempts         = 5
	// DefaultSubjectMaxFailures wrong codes for one subject and purpose,
	// across all its challenges, within DefaultSubjectWindow lock the
	// subject; each lock within a day doubles the last.
	DefaultSubjectMaxFailures = 10
	DefaultSubjectWindow      = time.Hour
	DefaultMaxLock            = 24 * time.Hour
	// DefaultResendCooldown is the least time between two sends of one
	// challenge; DefaultMaxSends the most sends to one destination in
	// DefaultSendWindow (Twilio Verify's 5 in 10 minutes).
	DefaultResendCooldown = 30 * time.Second
	DefaultMaxSends       = 5
	DefaultSendWindow     = 10 * time.Minute
	// MaxChannelLen bounds the name of the channel a challenge is sent by.
	MaxChannelLen = 16
	// ClockMargin is how long a challenge's records outlive its expiry,
	// so an instance whose clock runs behind the one that recorded a use
	// still finds the record while it takes the challenge for live.
	ClockMargin = 5 * time.Minute
)

// Errors returned by this package.
var (
	ErrInvalidDigits = fault.New(fault.Invalid, api.CodeInvalidParameter, "digits",
		fmt.Sprintf("must be from CHALLENGE_MIN_DIGITS (%d unless lowered, at least %d) to %d", DefaultMinDigits, MinDigits, MaxDigits))
	ErrInvalidTTL = fault.New(fault.Invalid, api.CodeInvalidParameter, "ttl",
		fmt.Sprintf("must be from %d to %d seconds", int(MinTTL/time.Second), int(MaxTTL/time.Second)))
	ErrInvalidSubject = fault.New(fault.Invalid, api.CodeInvalidParameter, "subject", fmt.Sprintf("must be 1 to %d bytes", MaxSubjectLen))
	ErrInvalidPurpose = fault.New(fault.Invalid, api.CodeInvalidParameter, "purpose", fmt.Sprintf("must be at most %d bytes", MaxPurposeLen))
	// ErrNoStore means challenges cannot be checked: without the guard's
	// store they could be used twice and guessed without limit.
	ErrNoStore = fault.New(fault.Unavailable, api.CodeGuardOff, "",
		"challenges need the guard (GUARD=on): without it a code could be used twice and guessed without limit")
)

// Reasons a code is not valid, beyond guard's Mismatch and Replayed.
const (
	Expired          guard.Reason = "expired"
	InvalidChallenge guard.Reason = "invalid_challenge"
	WrongSubject     guard.Reason = "wrong_subject"
	TooManyAttempts  guard.Reason = "too_many_attempts"
)

// Label starts every challenge: its format's version, bound as associated
// data, which sealed secrets (another label) never share. (c1 challenges,
// without a channel, lived ten minutes at most and are no longer read.)
const Label = "c2"

// Service issues and checks challenges.
type Service struct {
	ring      *seal.Ring
	store     guard.Store
	now       func() time.Time
	rand      io.Reader
	fpKey     []byte
	attempts  int
	subject   guard.Limit
	minDigits int
	cooldown  guard.Limit // between two sends of one challenge
	sends     guard.Limit // to one destination
}

// Options configure a Service; zero fields take their defaults, except
// Keys, Now and Random, which are required.
type Options struct {
	// Keys seal challenges: the first seals, all open, so keys can rotate
	// without breaking challenges in flight. None: a random key, so
	// challenges do not survive a restart or cross instances (a challenge
	// lives minutes, so that costs little).
	Keys []seal.Key
	// Store records uses and failures; nil makes Verify answer ErrNoStore.
	Store  guard.Store
	Now    func() time.Time
	Random io.Reader
	// FingerprintKey keys the names of subjects in Store (the guard's
	// key), so the store holds no address a reader could confirm.
	FingerprintKey []byte
	// MaxAttempts wrong codes kill a challenge.
	MaxAttempts int
	// SubjectMaxFailures wrong codes within SubjectWindow, over every
	// challenge of one subject and purpose, lock the subject; each lock
	// within a day doubles the last, up to MaxLock.
	SubjectMaxFailures int
	SubjectWindow      time.Duration
	MaxLock            time.Duration
	// MinDigits is the fewest digits Issue takes, from MinDigits up
	// (DefaultMinDigits by default).
	MinDigits int
	// ResendCooldown is the least time between two sends of one
	// challenge (DefaultResendCooldown); MaxSends the most sends to one
	// destination within SendWindow, new challenges and resends alike
	// (DefaultMaxSends in DefaultSendWindow).
	ResendCooldown time.Duration
	MaxSends       int
	SendWindow     time.Duration
}

// New returns the Service o describes.
func New(o Options) (*Service, error) {
	if o.Now == nil || o.Random == nil {
		return nil, errors.New("challenge: Now and Random are required")
	}
	if len(o.Keys) == 0 {
		random := seal.Key{ID: "random", Secret: make([]byte, seal.KeyLen)}
		if _, err := io.ReadFull(o.Random, random.Secret); err != nil {
			return nil, err
		}
		o.Keys = []seal.Key{random}
	}
	ring, err := seal.NewRing(Label, o.Keys)
	if err != nil {
		return nil, err
	}
	s := &Service{ring: ring, store: o.Store, now: o.Now, rand: o.Random, fpKey: o.FingerprintKey,
		attempts: cmp.Or(max(o.MaxAttempts, 0), DefaultMaxAttempts),
		subject: guard.Limit{
			Max:     cmp.Or(max(o.SubjectMaxFailures, 0), DefaultSubjectMaxFailures),
			Window:  cmp.Or(max(o.SubjectWindow, 0), DefaultSubjectWindow),
			MaxLock: cmp.Or(max(o.MaxLock, 0), DefaultMaxLock),
		},
		minDigits: cmp.Or(max(o.MinDigits, 0), DefaultMinDigits),
	}
	// A lock as long as its window, never doubled: a send limit is a pace,
	// not a punishment.
	cooldown := cmp.Or(max(o.ResendCooldown, 0), DefaultResendCooldown)
	s.cooldown = guard.Limit{Max: 1, Window: cooldown, MaxLock: cooldown}
	window := cmp.Or(max(o.SendWindow, 0), DefaultSendWindow)
	s.sends = guard.Limit{Max: cmp.Or(max(o.MaxSends, 0), DefaultMaxSends), Window: window, MaxLock: window}
	if s.minDigits < MinDigits || s.minDigits > MaxDigits {
		return nil, fmt.Errorf("challenge: min digits must be from %d to %d", MinDigits, MaxDigits)
	}
	return s, nil
}

// MinDigitsAllowed is the fewest digits Issue takes.
func (s *Service) MinDigitsAllowed() int { return s.minDigits }

// Request asks for a new challenge.
type Request struct {
	Subject string // whom the code is sent to: an email address, a phone number
	Purpose string // what it is for, e.g. "login"; may be empty
	Digits  int
	TTL     time.Duration
	// Channel, when set, names how the service itself sends the code; it
	// is sealed into the challenge, so a resend goes the same way.
	Channel string
	// Bearer seals Subject into the challenge, so that it checks with its
	// code alone (Check.Bearer): the email OTP service's tokens.
	Bearer bool
}

// Issued is a challenge and the code to deliver.
type Issued struct {
	Challenge string
	Code      string
	ExpiresAt time.Time
	// ID names the challenge in logs and the store; Channel and Subject
	// are what it was issued for (Subject only for a bearer challenge, or
	// when Reopen was given it).
	ID      string
	Channel string
	Subject string
	Purpose string
}

// sealed is what a challenge carries.
type sealed struct {
	id        [16]byte
	expiresAt int64    // unix seconds
	binding   [32]byte // SHA-256 of subject and purpose
	channel   string   // how the service sent it; "" when the caller does
	subject   string   // a bearer challenge's subject; "" otherwise
	code      []byte   // the digits
}

// issued is p as an Issued.
func (p sealed) issued(text string) Issued {
	return Issued{Challenge: text, Code: string(p.code), ExpiresAt: time.Unix(p.expiresAt, 0),
		ID: base64.RawURLEncoding.EncodeToString(p.id[:]), Channel: p.channel, Subject: p.subject}
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
	case r.Digits < s.minDigits || r.Digits > MaxDigits:
		return Issued{}, ErrInvalidDigits
	case r.TTL < MinTTL || r.TTL > MaxTTL:
		return Issued{}, ErrInvalidTTL
	}
	if len(r.Channel) > MaxChannelLen {
		return Issued{}, fmt.Errorf("challenge: channel name over %d bytes", MaxChannelLen)
	}
	n, err := rand.Int(s.rand, big.NewInt(0).Exp(big.NewInt(10), big.NewInt(int64(r.Digits)), nil))
	if err != nil {
		return Issued{}, fmt.Errorf("random code: %w", err)
	}
	code := fmt.Sprintf("%0*d", r.Digits, n)
	expires := s.now().Add(r.TTL).Truncate(time.Second)
	p := sealed{expiresAt: expires.Unix(), code: []byte(code), binding: binding(r.Subject, r.Purpose), channel: r.Channel}
	if r.Bearer {
		p.subject = r.Subject
	}
	if _, err := io.ReadFull(s.rand, p.id[:]); err != nil {
		return Issued{}, fmt.Errorf("random id: %w", err)
	}
	text, err := s.seal(p)
	if err != nil {
		return Issued{}, err
	}
	is := p.issued(text)
	is.Subject, is.Purpose = r.Subject, r.Purpose
	return is, nil
}

// Layout of the plaintext: id, expiry, binding, then three fields each
// after its length (a byte, or two for the subject): the channel, the
// subject (bearer challenges only) and the code.
const plainFixed = 16 + 8 + 32

func (s *Service) seal(p sealed) (string, error) {
	plain := make([]byte, 0, plainFixed+4+len(p.channel)+len(p.subject)+len(p.code))
	plain = append(plain, p.id[:]...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(p.expiresAt))
	plain = append(plain, p.binding[:]...)
	plain = append(plain, byte(len(p.channel)))
	plain = append(plain, p.channel...)
	plain = binary.BigEndian.AppendUint16(plain, uint16(len(p.subject)))
	plain = append(plain, p.subject...)
	plain = append(plain, byte(len(p.code)))
	plain = append(plain, p.code...)
	return s.ring.Seal(s.rand, plain, nil)
}

// open returns what text carries, or false when no key opens it: a
// changed bit anywhere, an unknown key or a foreign string.
func (s *Service) open(text string) (sealed, bool) {
	plain, _, err := s.ring.Open(text, nil)
	if err != nil || len(plain) < plainFixed {
		return sealed{}, false
	}
	var p sealed
	copy(p.id[:], plain)
	p.expiresAt = int64(binary.BigEndian.Uint64(plain[16:]))
	copy(p.binding[:], plain[24:])
	rest := plain[plainFixed:]
	field := func(lenBytes int) ([]byte, bool) {
		if len(rest) < lenBytes {
			return nil, false
		}
		n := int(rest[0])
		if lenBytes == 2 {
			n = int(binary.BigEndian.Uint16(rest))
		}
		rest = rest[lenBytes:]
		if len(rest) < n {
			return nil, false
		}
		v := rest[:n]
		rest = rest[n:]
		return v, true
	}
	channel, ok1 := field(1)
	subject, ok2 := field(2)
	code, ok3 := field(1)
	if !ok1 || !ok2 || !ok3 || len(rest) != 0 || len(code) == 0 {
		return sealed{}, false
	}
	p.channel, p.subject, p.code = string(channel), string(subject), code
	return p, true
}

// ErrNotResendable is the one answer to a challenge that cannot be sent
// again: it does not open, is another subject's or purpose's, has
// expired, or was not sent by the service; which of them is not said.
var ErrNotResendable = fault.New(fault.Invalid, api.CodeInvalidChallenge, "challenge",
	"cannot be sent again: it does not open, is not this subject's and purpose's, has expired, or the service did not send it")

// Reopen returns the challenge text holds for subject and purpose, to be
// sent again the way it was: the same code, the same channel.
func (s *Service) Reopen(text, subject, purpose string) (Issued, error) {
	p, ok := s.open(text)
	if !ok || p.channel == "" {
		return Issued{}, ErrNotResendable
	}
	want := binding(subject, purpose)
	if subtle.ConstantTimeCompare(want[:], p.binding[:]) != 1 || !s.now().Before(time.Unix(p.expiresAt, 0)) {
		return Issued{}, ErrNotResendable
	}
	is := p.issued(text)
	is.Subject, is.Purpose = subject, purpose
	return is, nil
}

// ErrTooManySends means a send came too soon after the challenge's last,
// or its destination has had as many as it may for now; RetryAfter says
// when it may have another.
var ErrTooManySends = fault.New(fault.Throttled, api.CodeTooManySends, "",
	"too many codes sent: one challenge is sent again at most once per cooldown, and one destination gets a few codes in 10 minutes")

// CountSend records a send of is to destination (the address or number
// the code goes to), and refuses it with ErrTooManySends when it would
// come too soon after the challenge's last send, or past the most its
// destination may have in a window: the same record counts new
// challenges and resends, so re-issuing does not get around it. Every
// refused send is free; every counted one counts whether or not the
// provider then delivers it.
//
// prefix, when set, names the block of destinations this one belongs to
// (a number without its last digits): a block gets PrefixFactor times
// the sends of one destination, so that a caller cycling through a
// range of numbers (SMS pumping) meets a limit too.
func (s *Service) CountSend(ctx context.Context, owner, destination, prefix string, is Issued) error {
	if s.store == nil {
		return ErrNoStore
	}
	if err := s.count(ctx, owner, "destination", destination, []guard.Record{
		{Key: "r:" + is.ID, Limit: s.cooldown},
		{Key: "d", Limit: s.sends},
	}); err != nil || prefix == "" {
		return err
	}
	block := s.sends
	block.Max *= PrefixFactor
	return s.count(ctx, owner, "prefix", prefix, []guard.Record{{Key: "p", Limit: block}})
}

// PrefixFactor is how many times one destination's sends a block of
// destinations gets.
const PrefixFactor = 10

// count counts a send in records under the HMAC of kind and name.
func (s *Service) count(ctx context.Context, owner, kind, name string, records []guard.Record) error {
	mac := hmac.New(sha256.New, s.fpKey)
	mac.Write([]byte(kind + "\x00"))
	mac.Write([]byte(name))
	out, err := guard.Decide(ctx, s.store, guard.Op{
		Now:     s.now(),
		Tag:     "c" + kind[:1] + ":" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)),
		Records: records,
		Owner:   owner,
	})
	switch {
	case err != nil:
		return err
	case out.Verdict == guard.Locked:
		return ErrTooManySends.Wait(out.RetryAfter).Explain(fmt.Sprintf("retry in %d seconds", fault.Seconds(out.RetryAfter)))
	}
	return nil
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
	// Bearer checks a bearer challenge with its code alone: the subject
	// it carries stands in for Subject. Any other challenge is
	// InvalidChallenge.
	Bearer bool
	// Owner is the API key the check came with, whose share of the store
	// bounds the records it creates (guard.OwnerShare).
	Owner string
}

// Result is the outcome of a check.
type Result struct {
	Reason guard.Reason // "" when the code is right
	// RetryAfter, with TooManyAttempts, is how long the subject's lock
	// still runs; 0 when it is the challenge that is dead.
	RetryAfter time.Duration
	// SubjectLocked, when set, is how long the lock this wrong code just
	// set on the subject runs: every challenge of it is refused till then.
	SubjectLocked time.Duration
}

// Verify checks c and records its outcome. A challenge verifies once;
// after MaxAttempts wrong codes it is dead, whatever follows; and past
// SubjectMaxFailures wrong codes over all its challenges a subject gets
// TooManyAttempts on every challenge, its right code included, until the
// lock passes. Codes are compared in constant time.
func (s *Service) Verify(ctx context.Context, c Check) (Result, error) {
	if s.store == nil {
		return Result{}, ErrNoStore
	}
	p, ok := s.open(c.Challenge)
	if !ok || (c.Bearer && p.subject == "") {
		return Result{Reason: InvalidChallenge}, nil
	}
	if c.Bearer {
		c.Subject = p.subject
	}
	want := binding(c.Subject, c.Purpose)
	if subtle.ConstantTimeCompare(want[:], p.binding[:]) != 1 {
		return Result{Reason: WrongSubject}, nil
	}
	now := s.now()
	left := time.Unix(p.expiresAt, 0).Sub(now)
	if left <= 0 {
		return Result{Reason: Expired}, nil
	}
	code := bytes.ReplaceAll([]byte(c.Code), []byte(" "), nil)
	if c.Numeric && len(code) < len(p.code) {
		code = append(bytes.Repeat([]byte("0"), len(p.code)-len(code)), code...)
	}
	matched := subtle.ConstantTimeCompare(code, p.code) == 1
	// The challenge's record and its subject's share the subject's tag,
	// so one atomic step counts a failure against both.
	life := left + ClockMargin
	out, err := guard.Decide(ctx, s.store, guard.Op{
		Now: now,
		Tag: "cs:" + s.subjectName(want),
		Records: []guard.Record{
			{Key: "c:" + base64.RawURLEncoding.EncodeToString(p.id[:]), Limit: guard.Limit{Max: s.attempts, Window: life}},
			{Key: "s", Limit: s.subject},
		},
		Owner:   c.Owner,
		Matched: matched,
		Use:     guard.Use{Name: "c", Step: 1, TTL: life},
	})
	switch {
	case err != nil:
		return Result{}, err
	case out.Verdict == guard.Failed && out.Locks > 0 && out.LockedRecord == 1:
		return Result{Reason: guard.Mismatch, SubjectLocked: s.subject.Length(out.Locks)}, nil
	case out.Verdict == guard.Failed:
		return Result{Reason: guard.Mismatch}, nil
	case out.Verdict == guard.Reused:
		return Result{Reason: guard.Replayed}, nil
	case out.Verdict == guard.Locked && out.LockedRecord == 1:
		// The subject is locked, over all its challenges: say how long.
		return Result{Reason: TooManyAttempts, RetryAfter: out.RetryAfter}, nil
	case out.Verdict == guard.Locked:
		return Result{Reason: TooManyAttempts}, nil
	}
	return Result{}, nil
}

// subjectName names a subject and purpose in the store: an HMAC under
// the fingerprint key of their binding.
func (s *Service) subjectName(binding [32]byte) string {
	mac := hmac.New(sha256.New, s.fpKey)
	mac.Write([]byte("subject\x00"))
	mac.Write(binding[:])
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
