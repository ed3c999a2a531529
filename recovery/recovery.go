// Package recovery makes and checks single-use recovery codes without
// keeping them: the caller stores only their SHA-256 hashes, which is
// enough because 80 random bits cannot be searched.
package recovery

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/acme/totp/guard"
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
	// UsedTTL is how long a used code is refused although its hash is
	// still sent: long enough to cover a race, not a substitute for
	// deleting the hash.
	UsedTTL = time.Hour
)

const hashPrefix = "sha256:"

// Errors returned by this package.
var (
	ErrInvalidCount  = errors.New("count out of range")
	ErrTooManyHashes = errors.New("too many hashes")
	ErrNoHashes      = errors.New("no hashes")
)

// MalformedHashError names the hash that is not "sha256:" and 64 hex digits.
type MalformedHashError struct{ Index int }

func (e *MalformedHashError) Error() string {
	return fmt.Sprintf("hash %d is not sha256: and 64 hex digits", e.Index)
}

// Generate returns count new codes, grouped for typing, and their hashes,
// in the same order.
func Generate(random io.Reader, count int) (codes, hashes []string, err error) {
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
		hashes = append(hashes, Hash(string(norm)))
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

// Hash is the stored form of a normalised code: "sha256:" and hex.
func Hash(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// parseHashes decodes hashes, naming the first malformed one.
func parseHashes(hashes []string) ([][sha256.Size]byte, error) {
	switch {
	case len(hashes) == 0:
		return nil, ErrNoHashes
	case len(hashes) > MaxCount:
		return nil, ErrTooManyHashes
	}
	out := make([][sha256.Size]byte, len(hashes))
	for i, h := range hashes {
		hexPart, ok := strings.CutPrefix(strings.ToLower(h), hashPrefix)
		if !ok || len(hexPart) != 2*sha256.Size {
			return nil, &MalformedHashError{Index: i}
		}
		if _, err := hex.Decode(out[i][:], []byte(hexPart)); err != nil {
			return nil, &MalformedHashError{Index: i}
		}
	}
	return out, nil
}

// Service checks recovery codes, throttling failures per hash set.
type Service struct {
	Store         guard.Store // nil: no throttling, no refusal of a code just used
	MaxFailures   int
	FailureWindow time.Duration
}

// Result is the outcome of a check.
type Result struct {
	Valid  bool
	Index  int          // of the matching hash, when Valid
	Reason guard.Reason // why not, when not Valid
}

// Verify checks code against hashes. Every hash is compared, in constant
// time, whatever matches. A malformed hash is a *MalformedHashError.
func (s *Service) Verify(ctx context.Context, code string, hashes []string) (Result, error) {
	digests, err := parseHashes(hashes)
	if err != nil {
		return Result{}, err
	}
	norm, ok := Normalize(code)
	if !ok {
		return Result{Reason: guard.Malformed}, nil
	}
	sum := sha256.Sum256([]byte(norm))
	index := -1
	for i := range digests {
		if subtle.ConstantTimeCompare(sum[:], digests[i][:]) == 1 && index < 0 {
			index = i
		}
	}
	if s.Store == nil {
		if index < 0 {
			return Result{Reason: guard.Mismatch}, nil
		}
		return Result{Valid: true, Index: index}, nil
	}
	reason, err := guard.Record(ctx, s.Store, guard.Use{
		ID:      "rc:" + base64.RawURLEncoding.EncodeToString(sum[:]),
		FailID:  "rcset:" + setID(digests),
		Matched: index >= 0,
		Step:    1,
		TTL:     UsedTTL,
		Limit:   s.MaxFailures,
		Window:  s.FailureWindow,
	})
	if err != nil || reason != "" {
		return Result{Reason: reason}, err
	}
	return Result{Valid: true, Index: index}, nil
}

// setID names a set of hashes whatever their order.
func setID(digests [][sha256.Size]byte) string {
	sorted := slices.Clone(digests)
	slices.SortFunc(sorted, func(a, b [sha256.Size]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	h := sha256.New()
	for _, d := range sorted {
		h.Write(d[:])
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
