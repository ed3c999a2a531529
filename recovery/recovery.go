// Package recovery makes and checks single-use recovery codes without
// keeping them: the caller stores only their hashes. A hash is an
// HMAC-SHA256 under a key of the service's ("hmac-sha256:KEYID:HEX"), so
// a leaked table cannot even be tried against a guess offline; plain
// SHA-256 hashes ("sha256:HEX", made before keys or without any) keep
// verifying, and 80 random bits cannot be searched either way.
package recovery

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/seal"
)

// Alphabet is Crockford's base32: no I, L, O or U, so nothing reads as
// another character; 5 bits a character.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// A code is Groups groups of GroupLen characters: 16 characters, 80 bits.
const (
	Groups       = 4
	GroupLen     = 4
	codeLen      = Groups * GroupLen
	MaxCount     = 20
	DefaultCount = 10
	// UsedTTL is how long a used code is refused by its own hash,
	// whatever set it comes with: a week, for a caller slow to delete it.
	UsedTTL = 7 * 24 * time.Hour
)

const (
	hashPrefix  = "sha256:"
	hmacPrefix  = "hmac-sha256:"
	defaultMax  = 5
	defaultWait = 5 * time.Minute
	defaultLock = 24 * time.Hour
)

// Errors returned by this package.
var (
	ErrInvalidCount  = fault.New(fault.Invalid, api.CodeInvalidParameter, "count", fmt.Sprintf("must be from 1 to %d", MaxCount))
	ErrTooManyHashes = fault.New(fault.Invalid, api.CodeInvalidParameter, "hashes", fmt.Sprintf("must hold at most %d hashes", MaxCount))
	ErrNoHashes      = fault.New(fault.Invalid, api.CodeMissingField, "hashes", "is required")
	// ErrMalformedHash is about the hash (At "hashes[i]") that is neither
	// "sha256:" and 64 hex digits nor "hmac-sha256:KEYID:" and 64 hex
	// digits.
	ErrMalformedHash = fault.New(fault.Invalid, api.CodeInvalidParameter, "hashes", "must be sha256:HEX or hmac-sha256:KEYID:HEX, HEX being 64 hex digits")
	// ErrUnknownKey is about the hash made under a key this service does
	// not hold: RECOVERY_KEYS lost the key, or GUARD_KEY changed.
	ErrUnknownKey = fault.New(fault.Invalid, api.CodeInvalidParameter, "hashes", "was made under a key this instance does not hold; keep every key that made stored hashes in RECOVERY_KEYS")
)

// hashAt is err about the hash at index i.
func hashAt(err *fault.Error, i int) error { return err.At(fmt.Sprintf("hashes[%d]", i)) }

// Options configure a Service; zero fields take their defaults.
type Options struct {
	// Keys key the hashes: the first makes new ones, all check. None:
	// new hashes are plain SHA-256.
	Keys []seal.Key
	// Store throttles failures per hash set and refuses a used code; nil:
	// neither.
	Store guard.Store
	Now   func() time.Time
	// FingerprintKey keys the names of used codes in Store.
	FingerprintKey []byte
	// MaxFailures wrong codes within FailureWindow lock a set; each lock
	// within a day doubles the last, up to MaxLock.
	MaxFailures   int
	FailureWindow time.Duration
	MaxLock       time.Duration
}

// Service makes and checks recovery codes.
type Service struct {
	keys  []seal.Key
	store guard.Store
	now   func() time.Time
	fpKey []byte
	limit guard.Limit
}

// New returns the Service o describes.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{
		keys: o.Keys, store: o.Store, now: o.Now, fpKey: o.FingerprintKey,
		limit: guard.Limit{
			Max:     cmp.Or(max(o.MaxFailures, 0), defaultMax),
			Window:  cmp.Or(max(o.FailureWindow, 0), defaultWait),
			MaxLock: cmp.Or(max(o.MaxLock, 0), defaultLock),
		},
	}
}

// Generate returns count new codes, grouped for typing, and their hashes,
// in the same order.
func (s *Service) Generate(random io.Reader, count int) (codes, hashes []string, err error) {
	if count < 1 || count > MaxCount {
		return nil, nil, ErrInvalidCount
	}
	for range count {
		var raw [codeLen]byte
		if _, err := io.ReadFull(random, raw[:]); err != nil {
			return nil, nil, fmt.Errorf("random code: %w", err)
		}
		var b strings.Builder
		norm := make([]byte, codeLen)
		for i, r := range raw {
			norm[i] = Alphabet[r%32] // 256 is a multiple of 32: uniform
			if i > 0 && i%GroupLen == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(norm[i])
		}
		codes = append(codes, b.String())
		hashes = append(hashes, s.Hash(string(norm)))
	}
	return codes, hashes, nil
}

// Normalize reads a code as people type it: any case, with spaces or
// hyphens, I and L for 1, O for 0. It reports false when what is left is
// not a code.
func Normalize(code string) (string, bool) {
	out := make([]byte, 0, codeLen)
	for i := 0; i < len(code); i++ {
		c := code[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case ' ', '-', '\t':
			continue
		case 'I', 'L':
			c = '1'
		case 'O':
			c = '0'
		}
		if strings.IndexByte(Alphabet, c) < 0 || len(out) == codeLen {
			return "", false
		}
		out = append(out, c)
	}
	return string(out), len(out) == codeLen
}

// Hash is the stored form of a normalised code: its HMAC under the first
// key, or without keys its plain SHA-256.
func (s *Service) Hash(normalized string) string {
	if len(s.keys) == 0 {
		return Hash(normalized)
	}
	k := s.keys[0]
	return hmacPrefix + k.ID + ":" + hex.EncodeToString(keyed(k.Secret, normalized))
}

// Hash is the plain SHA-256 form of a normalised code: "sha256:" and hex.
func Hash(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hashPrefix + hex.EncodeToString(sum[:])
}

func keyed(key []byte, normalized string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(normalized))
	return mac.Sum(nil)
}

// digest is one stored hash, decoded: under which key ("" for plain
// SHA-256) and the sum.
type digest struct {
	keyID string
	key   []byte
	sum   [sha256.Size]byte
}

// parseHashes decodes hashes, naming the first malformed one.
func (s *Service) parseHashes(hashes []string) ([]digest, error) {
	switch {
	case len(hashes) == 0:
		return nil, ErrNoHashes
	case len(hashes) > MaxCount:
		return nil, ErrTooManyHashes
	}
	out := make([]digest, len(hashes))
	for i, h := range hashes {
		h = strings.ToLower(h)
		var hexPart string
		if rest, ok := strings.CutPrefix(h, hmacPrefix); ok {
			id, sum, ok := strings.Cut(rest, ":")
			if !ok {
				return nil, hashAt(ErrMalformedHash, i)
			}
			j := slices.IndexFunc(s.keys, func(k seal.Key) bool { return strings.EqualFold(k.ID, id) })
			if j < 0 {
				return nil, hashAt(ErrUnknownKey, i)
			}
			out[i].keyID, out[i].key, hexPart = s.keys[j].ID, s.keys[j].Secret, sum
		} else if hexPart, ok = strings.CutPrefix(h, hashPrefix); !ok {
			return nil, hashAt(ErrMalformedHash, i)
		}
		if len(hexPart) != 2*sha256.Size {
			return nil, hashAt(ErrMalformedHash, i)
		}
		if _, err := hex.Decode(out[i].sum[:], []byte(hexPart)); err != nil {
			return nil, hashAt(ErrMalformedHash, i)
		}
	}
	return out, nil
}

// Result is the outcome of a check.
type Result struct {
	Valid  bool
	Index  int          // of the matching hash, when Valid
	Reason guard.Reason // why not, when not Valid
}

// Verify checks code against hashes for owner (an API key's name, whose
// share of the store bounds the records it creates). Every hash is
// compared, in constant time, whatever matches. A malformed hash is a
// ErrMalformedHash, one under a key the service lacks an
// ErrUnknownKey.
//
// Failures lock the set of hashes, whatever their order. A right code is
// then claimed by its own fingerprint, whatever set it came with, so a
// used code is refused for UsedTTL even sent with a smaller set while the
// caller deletes its hash.
func (s *Service) Verify(ctx context.Context, owner, code string, hashes []string) (Result, error) {
	digests, err := s.parseHashes(hashes)
	if err != nil {
		return Result{}, err
	}
	norm, ok := Normalize(code)
	if !ok {
		return Result{Reason: guard.Malformed}, nil
	}
	plain := sha256.Sum256([]byte(norm))
	index := -1
	byKey := map[string][]byte{"": plain[:]}
	for i, d := range digests {
		sum, ok := byKey[d.keyID]
		if !ok {
			sum = keyed(d.key, norm)
			byKey[d.keyID] = sum
		}
		if subtle.ConstantTimeCompare(sum, d.sum[:]) == 1 && index < 0 {
			index = i
		}
	}
	if s.store == nil {
		if index < 0 {
			return Result{Reason: guard.Mismatch}, nil
		}
		return Result{Valid: true, Index: index}, nil
	}
	now := s.now()
	reason, err := guard.Apply(ctx, s.store, guard.Op{
		Now: now, Tag: "rs:" + setID(hashes), Owner: owner, Matched: index >= 0,
		Records: []guard.Record{{Limit: s.limit}},
	})
	if err != nil || reason != "" {
		return Result{Reason: reason}, err
	}
	mac := hmac.New(sha256.New, s.fpKey)
	mac.Write([]byte("recovery\x00" + norm))
	reason, err = guard.Apply(ctx, s.store, guard.Op{
		Now: now, Tag: "rc:" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), Owner: owner, Matched: true,
		Records: []guard.Record{{}},
		Use:     guard.Use{Name: "rc", Step: 1, TTL: UsedTTL},
	})
	if err != nil || reason != "" {
		return Result{Reason: reason}, err
	}
	return Result{Valid: true, Index: index}, nil
}

// setID names a set of hashes whatever their order or case.
func setID(hashes []string) string {
	sorted := make([]string, len(hashes))
	for i, h := range hashes {
		sorted[i] = strings.ToLower(h)
	}
	slices.Sort(sorted)
	h := sha256.New()
	for _, s := range sorted {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
