package otp

import (
	"bytes"
	"crypto/subtle"
	"strings"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Algorithm is the HMAC hash of RFC 6238.
type Algorithm string

// The algorithms RFC 6238 names.
const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// Algorithms lists every Algorithm, in documentation order.
var Algorithms = []Algorithm{SHA1, SHA256, SHA512}

// ParseAlgorithm returns the Algorithm named s (case-insensitive, "SHA-256"
// accepted too); the empty string means SHA1.
func ParseAlgorithm(s string) (Algorithm, error) {
	if s == "" {
		return SHA1, nil
	}
	a := Algorithm(strings.ReplaceAll(strings.ToUpper(s), "-", ""))
	switch a {
	case SHA1, SHA256, SHA512:
		return a, nil
	}
	return "", ErrUnknownAlgorithm
}

// pquerna is the Algorithm as pquerna/otp names it.
func (a Algorithm) pquerna() potp.Algorithm {
	switch a {
	case SHA256:
		return potp.AlgorithmSHA256
	case SHA512:
		return potp.AlgorithmSHA512
	}
	return potp.AlgorithmSHA1
}

// Bounds and defaults of the TOTP parameters.
const (
	DefaultDigits = 6
	MinDigits     = 6
	MaxDigits     = 8
	DefaultPeriod = 30
	MinPeriod     = 1
	MaxPeriod     = 3600
	DefaultSkew   = 1
	MaxSkew       = 10
)

// Encoder is how a code's value is written: decimal digits (the zero
// value, "default"), or Steam Guard's five characters.
type Encoder string

// The encoders pquerna/otp offers.
const (
	EncoderDefault Encoder = ""
	EncoderSteam   Encoder = "steam"
	// SteamDigits is the length of a Steam Guard code.
	SteamDigits = 5
)

// steamAlphabet is Steam Guard's: digits and consonants that cannot be
// mistaken for each other.
const steamAlphabet = "23456789BCDFGHJKMNPQRTVWXY"

// ParseEncoder returns the Encoder named s: "" or "default" for digits,
// "steam" for Steam Guard (case-insensitive).
func ParseEncoder(s string) (Encoder, error) {
	switch strings.ToLower(s) {
	case "", "default":
		return EncoderDefault, nil
	case "steam":
		return EncoderSteam, nil
	}
	return "", ErrUnknownEncoder
}

// Params are the parameters shared by a secret's generator and verifier.
type Params struct {
	Algorithm Algorithm
	Digits    int
	Period    int // seconds per step; TOTP only
	Encoder   Encoder
}

// DefaultParams are what every authenticator app supports: SHA1, 6 digits, 30 s.
var DefaultParams = Params{Algorithm: SHA1, Digits: DefaultDigits, Period: DefaultPeriod}

// ParseParams resolves the options a caller may leave out: an empty
// algorithm is SHA1, an empty encoder digits, a nil digits 6 (5 for Steam)
// and a nil period 30. A zero is never taken for a default, so an explicit
// digits of 0 is an error rather than 6. Its errors are *FieldError naming
// "algorithm", "encoder", "digits" or "period".
func ParseParams(algorithm, encoder string, digits, period *int) (Params, error) {
	p := DefaultParams
	var err error
	if p.Algorithm, err = ParseAlgorithm(algorithm); err != nil {
		return p, field("algorithm", err)
	}
	if p.Encoder, err = ParseEncoder(encoder); err != nil {
		return p, field("encoder", err)
	}
	if p.Encoder == EncoderSteam {
		p.Digits = SteamDigits
	}
	if digits != nil {
		p.Digits = *digits
	}
	if period != nil {
		p.Period = *period
	}
	return p, p.Validate()
}

// Validate reports the first parameter out of range, as a *FieldError.
func (p Params) Validate() error {
	switch p.Algorithm {
	case SHA1, SHA256, SHA512:
	default:
		return field("algorithm", ErrUnknownAlgorithm)
	}
	switch p.Encoder {
	case EncoderDefault:
		if p.Digits < MinDigits || p.Digits > MaxDigits {
			return field("digits", ErrInvalidDigits)
		}
	case EncoderSteam:
		if p.Digits != SteamDigits {
			return field("digits", ErrSteamDigits)
		}
	default:
		return field("encoder", ErrUnknownEncoder)
	}
	if p.Period < MinPeriod || p.Period > MaxPeriod {
		return field("period", ErrInvalidPeriod)
	}
	return nil
}

// Step is the RFC 6238 counter at t: floor(unix seconds / period). Times
// before 1970 count as step 0. (pquerna's totp.GenerateCodeCustom converts
// a negative floor to uint64, which Go leaves implementation-defined, so
// codes are made here through hotp with this counter.)
func (p Params) Step(t time.Time) uint64 {
	sec := t.Unix()
	if sec < 0 {
		return 0
	}
	return uint64(sec) / uint64(p.Period)
}

// Remaining is the whole seconds left in t's step, from 1 to Period.
func (p Params) Remaining(t time.Time) int {
	sec := max(t.Unix(), 0)
	return p.Period - int(sec%int64(p.Period))
}

// Key is a decoded secret with its parameters: the thing codes are made
// from. It holds the secret as pquerna/otp takes it, unpadded base32, so a
// secret that came in hex, base64 or ascii is decoded and re-encoded once,
// not on every code; and its bytes, which the guard fingerprints.
type Key struct {
	Params
	raw    []byte
	secret string            // unpadded base32
	opts   hotp.ValidateOpts // every option explicit: pquerna's zero values are not ours
}

// NewKey checks secret's length and p, and returns a Key ready to make
// codes. The Key keeps a copy of secret.
func NewKey(secret []byte, p Params) (Key, error) {
	if err := checkKeyLen(secret); err != nil {
		return Key{}, field("secret", err)
	}
	if err := p.Validate(); err != nil {
		return Key{}, err
	}
	return newKey(bytes.Clone(secret), p), nil
}

// newKey is the Key of a secret and parameters already checked, keeping
// secret itself.
func newKey(secret []byte, p Params) Key {
	return Key{
		Params: p,
		raw:    secret,
		secret: base32NoPad.EncodeToString(secret),
		opts: hotp.ValidateOpts{
			Digits:    potp.Digits(p.Digits),
			Algorithm: p.Algorithm.pquerna(),
			Encoder:   potp.Encoder(p.Encoder), // "" and "steam", as pquerna names them
		},
	}
}

// Secret is the key's bytes; callers must not change them.
func (k Key) Secret() []byte { return k.raw }

// HOTP returns the RFC 4226 code for counter, zero-padded to Digits, as
// pquerna/otp makes it. Its only error is a secret pquerna cannot decode,
// which NewKey's encoding rules out.
func (k *Key) HOTP(counter uint64) (string, error) {
	return hotp.GenerateCodeCustom(k.secret, counter, k.opts)
}

// Code is a generated code with where it stands in time.
type Code struct {
	Token     string
	Step      uint64
	Remaining int
}

// Generate returns the code in force at t.
func (k *Key) Generate(t time.Time) (Code, error) {
	step := k.Step(t)
	token, err := k.HOTP(step)
	if err != nil {
		return Code{}, err
	}
	return Code{Token: token, Step: step, Remaining: k.Remaining(t)}, nil
}

// Match is the outcome of a verification.
type Match struct {
	Valid bool
	// Malformed says the token could not be a code at all: the wrong
	// length, or a character no code has. It is not Valid.
	Malformed bool
	Step      uint64 // the matched counter, when Valid
	Drift     int64  // Step minus the counter at the time of verification, when Valid
}

// NormalizeToken removes the spaces people type or paste inside a code.
func NormalizeToken(token string) string {
	if !strings.ContainsAny(token, " \t") {
		return token
	}
	return strings.NewReplacer(" ", "", "\t", "").Replace(token)
}

// normalize returns token as the key's codes are written, and false when
// it is not Digits digits (or for Steam Digits characters of its alphabet,
// in either case).
func (k *Key) normalize(token string) (string, bool) {
	token = NormalizeToken(token)
	invalid := notDigit
	if k.Encoder == EncoderSteam {
		token = strings.ToUpper(token)
		invalid = func(r rune) bool { return !strings.ContainsRune(steamAlphabet, r) }
	}
	if len(token) != k.Digits || strings.IndexFunc(token, invalid) >= 0 {
		return "", false
	}
	return token, true
}

// Window is how many steps before and after the current one a TOTP code
// may come from.
type Window struct {
	Past, Future int
}

// ParseWindow resolves the window a verification asks for: skew steps
// either side (default 1), or skewPast before and skewFuture after (each
// 0 when left out); the two forms together are an error. Its errors are
// *FieldError naming the field at fault.
func ParseWindow(skew, skewPast, skewFuture *int) (Window, error) {
	if skew != nil && (skewPast != nil || skewFuture != nil) {
		return Window{}, field("skew", ErrSkewAndSides)
	}
	if skewPast == nil && skewFuture == nil {
		n := DefaultSkew
		if skew != nil {
			n = *skew
		}
		if n < 0 || n > MaxSkew {
			return Window{}, field("skew", ErrInvalidSkew)
		}
		return Window{Past: n, Future: n}, nil
	}
	var w Window
	for _, side := range []struct {
		name string
		v    *int
		dst  *int
	}{{"skew_past", skewPast, &w.Past}, {"skew_future", skewFuture, &w.Future}} {
		if side.v == nil {
			continue
		}
		if *side.v < 0 || *side.v > MaxSkew {
			return Window{}, field(side.name, ErrInvalidSkew)
		}
		*side.dst = *side.v
	}
	return w, nil
}

// MaxPastReach is how far back the past side of a window reaches: a step
// that ended longer ago than this (or than one step, when steps are
// longer) is never accepted, whatever skew asks, so the guard needs to
// remember a used step only that long after it ends.
const MaxPastReach = 10 * time.Minute

// Verify checks token against the steps from skew before t to skew after it,
// never below step 0 nor further back than MaxPastReach, and reports the matched step nearest to t. Every step
// in the window is computed and compared in constant time, so the answer's
// timing says nothing about which step matched. A token of the wrong length
// or with a non-digit is a Malformed match, computed against nothing.
//
// pquerna's totp.ValidateCustom answers only yes or no; the window is
// walked here with hotp so the caller learns the step, for replay refusal
// and after_step.
func (k *Key) Verify(token string, t time.Time, w Window) (Match, error) {
	if w.Past < 0 || w.Past > MaxSkew || w.Future < 0 || w.Future > MaxSkew {
		return Match{}, field("skew", ErrInvalidSkew)
	}
	token, ok := k.normalize(token)
	if !ok {
		return Match{Malformed: true}, nil
	}
	var match Match
	now := k.Step(t)
	// Nearest steps first, so the first match is the smallest drift.
	for i := 0; i <= 2*max(w.Past, w.Future); i++ {
		drift := int64((i + 1) / 2)
		if i%2 == 1 {
			drift = -drift
		}
		switch {
		case drift > int64(w.Future), -drift > int64(w.Past):
			continue // outside the window asked for
		case drift < 0 && uint64(-drift) > now:
			continue // no step before 0
		case drift < -1 && t.Sub(time.Unix((int64(now)+drift+1)*int64(k.Period), 0)) > MaxPastReach:
			continue // ended too long ago
		}
		step := uint64(int64(now) + drift)
		code, err := k.HOTP(step)
		if err != nil {
			return Match{}, err
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(token)) == 1 && !match.Valid {
			match = Match{Valid: true, Step: step, Drift: drift}
		}
	}
	return match, nil
}

// CheapestCost is Cost of the cheapest verification: three codes (skew 1)
// of a key no longer than a hash block.
const CheapestCost = 3 * 4

// Cost is the work of computing n codes of k, in hash-block compressions:
// each HMAC hashes a key longer than a block down first (pquerna keys a
// new HMAC for every code), then its inner and outer pads and the two
// short messages. The service bounds the work of a request by it.
func (k *Key) Cost(n int) int {
	block := 64
	if k.Algorithm == SHA512 {
		block = 128
	}
	keyBlocks, keyLen := 0, len(k.secret)*5/8 // base32 to bytes
	if keyLen > block {
		keyBlocks = (keyLen + 17 + block - 1) / block
	}
	return n * (keyBlocks + 4)
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// Bounds and defaults of HOTP's windows, in counters.
const (
	DefaultLookAhead       = 10
	MaxLookAhead           = 100
	DefaultResyncLookAhead = 100
	MaxResyncLookAhead     = 1000
)

// VerifyCounter checks token against the RFC 4226 codes of counter to
// counter+lookAhead and reports the lowest counter that matches, with its
// distance from counter as Drift. Every code of the window is computed and
// compared in constant time.
func (k *Key) VerifyCounter(token string, counter uint64, lookAhead int) (Match, error) {
	if lookAhead < 0 || lookAhead > MaxLookAhead {
		return Match{}, field("look_ahead", ErrInvalidLookAhead)
	}
	token, ok := k.normalize(token)
	if !ok {
		return Match{Malformed: true}, nil
	}
	var match Match
	for i := range uint64(lookAhead) + 1 {
		c := counter + i
		if c < counter {
			break // past the last counter there is
		}
		code, err := k.HOTP(c)
		if err != nil {
			return Match{}, err
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(token)) == 1 && !match.Valid {
			match = Match{Valid: true, Step: c, Drift: int64(i)}
		}
	}
	return match, nil
}

// Resync finds the lowest counter M from counter to counter+lookAhead whose
// code is token and whose next code is token2, as privacyIDEA and LinOTP
// resynchronise a hardware token pressed many times unseen: one code
// matches by chance in a wide window, two in a row almost never. The Match
// is M+1, the counter of token2; the caller stores M+2.
func (k *Key) Resync(token, token2 string, counter uint64, lookAhead int) (Match, error) {
	if lookAhead < 0 || lookAhead > MaxResyncLookAhead {
		return Match{}, field("look_ahead", ErrInvalidLookAhead)
	}
	first, ok1 := k.normalize(token)
	second, ok2 := k.normalize(token2)
	if !ok1 || !ok2 {
		return Match{Malformed: true}, nil
	}
	var (
		match Match
		prev  bool // the code before this one was token
	)
	for i := range uint64(lookAhead) + 2 {
		c := counter + i
		if c < counter {
			break
		}
		code, err := k.HOTP(c)
		if err != nil {
			return Match{}, err
		}
		if prev && subtle.ConstantTimeCompare([]byte(code), []byte(second)) == 1 && !match.Valid {
			match = Match{Valid: true, Step: c, Drift: int64(i)}
		}
		prev = i <= uint64(lookAhead) && subtle.ConstantTimeCompare([]byte(code), []byte(first)) == 1
	}
	return match, nil
}
