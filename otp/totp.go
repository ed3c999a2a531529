package otp

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"strings"
	"time"

	"github.com/acme/totp/internal/hmackey"
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

// Params are the parameters shared by a secret's generator and verifier.
type Params struct {
	Algorithm Algorithm
	Digits    int
	Period    int // seconds per step
}

// DefaultParams are what every authenticator app supports: SHA1, 6 digits, 30 s.
var DefaultParams = Params{Algorithm: SHA1, Digits: DefaultDigits, Period: DefaultPeriod}

// Validate reports the first parameter out of range.
func (p Params) Validate() error {
	switch p.Algorithm {
	case SHA1, SHA256, SHA512:
	default:
		return ErrUnknownAlgorithm
	}
	if p.Digits < MinDigits || p.Digits > MaxDigits {
		return ErrInvalidDigits
	}
	if p.Period < MinPeriod || p.Period > MaxPeriod {
		return ErrInvalidPeriod
	}
	return nil
}

// Step is the RFC 6238 counter at t: floor(unix seconds / period). Times
// before 1970 count as step 0.
func (p Params) Step(t time.Time) uint64 {
	sec := t.Unix()
	if sec < 0 {
		return 0
	}
	return uint64(sec) / uint64(p.Period)
}

// Remaining is the whole seconds left in t's step, from 1 to Period.
func (p Params) Remaining(t time.Time) int {
	sec := t.Unix()
	if sec < 0 {
		sec = 0
	}
	return p.Period - int(sec%int64(p.Period))
}

// Key is a decoded secret with its parameters: the thing codes are made
// from. It holds the HMAC key as RFC 2104 pads it to a block, so each code
// costs two hashes over stack buffers and no allocation; hmac.New would
// cost five allocations per Key and an interface call per write.
type Key struct {
	Params
	blockSize int
	block     [sha512.BlockSize]byte // the key, zero-padded to blockSize
}

var (
	ipadBytes = bytes.Repeat([]byte{0x36}, sha512.BlockSize)
	opadBytes = bytes.Repeat([]byte{0x5c}, sha512.BlockSize)
)

// NewKey checks secret's length and p, and returns a Key ready to make
// codes. The Key keeps no reference to secret. It is a value, so a Key that
// does not leave its function costs no allocation.
func NewKey(secret []byte, p Params) (Key, error) {
	if err := checkKeyLen(secret); err != nil {
		return Key{}, err
	}
	if err := p.Validate(); err != nil {
		return Key{}, err
	}
	k := Key{Params: p, blockSize: p.Algorithm.blockSize()}
	// RFC 2104: a key longer than a block is replaced by its hash.
	var hashed [sha512.Size]byte
	if len(secret) > k.blockSize {
		secret = p.Algorithm.sum(hashed[:0], secret)
	}
	copy(k.block[:], secret)
	return k, nil
}

func (a Algorithm) blockSize() int {
	if a == SHA512 {
		return sha512.BlockSize
	}
	return sha1.BlockSize // = sha256.BlockSize
}

// sum appends the hash of data to dst. The concrete Sum functions keep
// data on the caller's stack.
func (a Algorithm) sum(dst, data []byte) []byte {
	switch a {
	case SHA256:
		s := sha256.Sum256(data)
		return append(dst, s[:]...)
	case SHA512:
		s := sha512.Sum512(data)
		return append(dst, s[:]...)
	}
	s := sha1.Sum(data)
	return append(dst, s[:]...)
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// value is the RFC 4226 dynamic truncation of HMAC(secret, counter),
// reduced to Digits decimal digits.
func (k *Key) value(counter uint64) uint32 {
	var (
		buf [sha512.BlockSize + sha512.Size]byte
		mac [sha512.Size]byte
	)
	bs := k.blockSize
	subtle.XORBytes(buf[:bs], k.block[:bs], ipadBytes)
	binary.BigEndian.PutUint64(buf[bs:], counter)
	inner := k.Algorithm.sum(mac[:0], buf[:bs+8])
	subtle.XORBytes(buf[:bs], k.block[:bs], opadBytes)
	n := copy(buf[bs:], inner)
	return k.truncate(k.Algorithm.sum(mac[:0], buf[:bs+n]))
}

// truncate is RFC 4226's dynamic truncation of an HMAC to Digits digits.
func (k *Key) truncate(mac []byte) uint32 {
	offset := mac[len(mac)-1] & 0x0f
	bin := binary.BigEndian.Uint32(mac[offset:]) & 0x7fffffff
	return bin % pow10[k.Digits]
}

// window makes the codes of several counters under one key. Its padded
// blocks are hashed once (hmackey), so each further code costs two hash
// finalisations rather than four blocks; one code alone is cheaper through
// value, which skips saving the states.
type window struct {
	k   *Key
	mac hmackey.Key
}

func (k *Key) window() window {
	mac, err := hmackey.New(k.Algorithm.hash(), k.block[:k.blockSize])
	if err != nil {
		panic(err) // NewKey has checked the algorithm
	}
	return window{k: k, mac: mac}
}

func (w *window) value(counter uint64) uint32 {
	var msg [8]byte
	var mac [sha512.Size]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	return w.k.truncate(w.mac.Sum(mac[:0], msg[:]))
}

func (a Algorithm) hash() crypto.Hash {
	switch a {
	case SHA256:
		return crypto.SHA256
	case SHA512:
		return crypto.SHA512
	}
	return crypto.SHA1
}

// HOTP returns the RFC 4226 code for counter, zero-padded to Digits.
func (k *Key) HOTP(counter uint64) string {
	var buf [MaxDigits]byte
	return string(format(buf[:k.Digits], k.value(counter)))
}

func format(dst []byte, v uint32) []byte {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// Code is a generated code with where it stands in time.
type Code struct {
	Token     string
	Step      uint64
	Remaining int
}

// Generate returns the code in force at t.
func (k *Key) Generate(t time.Time) Code {
	step := k.Step(t)
	return Code{Token: k.HOTP(step), Step: step, Remaining: k.Remaining(t)}
}

// Match is the outcome of a verification.
type Match struct {
	Valid bool
	Step  uint64 // the matched counter, when Valid
	Drift int64  // Step minus the counter at the time of verification, when Valid
}

// NormalizeToken removes the spaces people type or paste inside a code.
func NormalizeToken(token string) string {
	if !strings.ContainsAny(token, " \t") {
		return token
	}
	return strings.NewReplacer(" ", "", "\t", "").Replace(token)
}

// Verify checks token against the steps from skew before t to skew after it,
// never below step 0, and reports the matched step nearest to t. Every step
// in the window is computed and compared in constant time, so the answer's
// timing says nothing about which step matched. A token of the wrong length
// or with a non-digit is ErrMalformedToken.
func (k *Key) Verify(token string, t time.Time, skew int) (Match, error) {
	if skew < 0 || skew > MaxSkew {
		return Match{}, ErrInvalidSkew
	}
	token = NormalizeToken(token)
	if len(token) != k.Digits {
		return Match{}, ErrMalformedToken
	}
	var want [MaxDigits]byte
	for i := 0; i < len(token); i++ {
		if token[i] < '0' || token[i] > '9' {
			return Match{}, ErrMalformedToken
		}
		want[i] = token[i]
	}
	now := k.Step(t)
	if skew == 0 {
		var got [MaxDigits]byte
		format(got[:k.Digits], k.value(now))
		if subtle.ConstantTimeCompare(got[:k.Digits], want[:k.Digits]) == 1 {
			return Match{Valid: true, Step: now}, nil
		}
		return Match{}, nil
	}
	return k.verifyWindow(&want, now, skew), nil
}

// verifyWindow checks want against the steps from skew before now to skew
// after it, with the key's padded blocks hashed once for all of them.
func (k *Key) verifyWindow(want *[MaxDigits]byte, now uint64, skew int) Match {
	var (
		match Match
		got   [MaxDigits]byte
		codes = k.window()
	)
	// Nearest steps first, so the earliest match is the smallest drift.
	for i := 0; i <= 2*skew; i++ {
		drift := int64((i + 1) / 2)
		if i%2 == 1 {
			drift = -drift
		}
		if drift < 0 && uint64(-drift) > now {
			continue // no step before 0
		}
		step := uint64(int64(now) + drift)
		format(got[:k.Digits], codes.value(step))
		if subtle.ConstantTimeCompare(got[:k.Digits], want[:k.Digits]) == 1 && !match.Valid {
			match = Match{Valid: true, Step: step, Drift: drift}
		}
	}
	return match
}
