// Package access holds the service's API keys: each has a name, the scopes
// it may use and the SHA-256 of the key itself, so a keys file need not
// hold any key. A Ring holds the keys in force and can be replaced whole
// while requests are served, for rotation without a restart.
package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Scope is what a key may do.
type Scope string

// The scopes. All stands for every scope.
const (
	Enrol     Scope = "enrol"     // new secrets, seals, recovery codes
	Verify    Scope = "verify"    // checking codes
	Reveal    Scope = "reveal"    // codes or the secret of a secret the caller holds
	Challenge Scope = "challenge" // issuing email and SMS codes
	Metrics   Scope = "metrics"   // GET /metrics
	All       Scope = "all"
)

// Scopes lists every scope but All, in the order the README gives them.
var Scopes = []Scope{Enrol, Verify, Reveal, Challenge, Metrics}

// MinKeyLen is the shortest key accepted: a shorter one can be guessed.
const MinKeyLen = 32

// Key is one API key, without the key itself.
type Key struct {
	Name   string
	Scopes []Scope
	sum    [sha256.Size]byte
}

// Allows reports whether k may use scope.
func (k Key) Allows(scope Scope) bool {
	return slices.Contains(k.Scopes, All) || slices.Contains(k.Scopes, scope)
}

// BareName names a key given without a name: the first 8 hex digits of
// its SHA-256, which says nothing of the key.
func BareName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// ErrNoKeys means a keys source held no key, which is refused rather than
// taken for "no authentication".
var ErrNoKeys = errors.New("no API key")

// ParseFile reads a keys file: one key a line, "NAME SCOPES KEY", SCOPES
// comma-separated, KEY the key or "sha256:" and the 64 hex digits of its
// SHA-256; blank lines and lines starting with # are skipped. Errors name
// the line, never a key.
func ParseFile(text string) ([]Key, error) {
	var keys []Key
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseEntry(line, false)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return Checked(keys)
}

// ParseList reads API_KEYS: comma-separated entries, each "NAME SCOPES
// KEY" as in a file, or a bare key, which may do everything and is named
// by BareName.
func ParseList(text string) ([]Key, error) {
	var keys []Key
	for i, entry := range strings.Split(text, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, err := parseEntry(entry, true)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return Checked(keys)
}

func parseEntry(entry string, bareAllowed bool) (Key, error) {
	fields := strings.Fields(entry)
	if len(fields) == 1 && bareAllowed {
		if err := checkKey(fields[0]); err != nil {
			return Key{}, err
		}
		return Key{Name: BareName(fields[0]), Scopes: []Scope{All}, sum: sha256.Sum256([]byte(fields[0]))}, nil
	}
	if len(fields) != 3 {
		return Key{}, errors.New(`want "NAME SCOPES KEY"`)
	}
	k := Key{Name: fields[0]}
	if !validName(k.Name) {
		return Key{}, errors.New("a name is 1 to 64 letters, digits, '-' or '_'")
	}
	for _, s := range strings.Split(fields[1], ",") {
		scope := Scope(s)
		if scope != All && !slices.Contains(Scopes, scope) {
			return Key{}, fmt.Errorf("unknown scope %q (want %s or all)", s, join(Scopes))
		}
		k.Scopes = append(k.Scopes, scope)
	}
	if hexSum, ok := strings.CutPrefix(fields[2], "sha256:"); ok {
		if n, err := hex.Decode(k.sum[:], []byte(hexSum)); err != nil || n != sha256.Size || len(hexSum) != 2*sha256.Size {
			return Key{}, errors.New("sha256: wants 64 hex digits")
		}
		return k, nil
	}
	if err := checkKey(fields[2]); err != nil {
		return Key{}, err
	}
	k.sum = sha256.Sum256([]byte(fields[2]))
	return k, nil
}

func checkKey(key string) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("a key must be at least %d characters (head -c 32 /dev/urandom | base64)", MinKeyLen)
	}
	return nil
}

// Checked refuses two keys with one name or one key, as keys from two
// sources may be; it returns keys as they are.
func Checked(keys []Key) ([]Key, error) {
	if len(keys) == 0 {
		return keys, nil
	}
	for i, k := range keys {
		for _, other := range keys[:i] {
			if other.Name == k.Name {
				return nil, fmt.Errorf("the name %s is given twice", k.Name)
			}
			if other.sum == k.sum {
				return nil, fmt.Errorf("%s and %s are the same key", other.Name, k.Name)
			}
		}
	}
	return keys, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func join(scopes []Scope) string {
	s := make([]string, len(scopes))
	for i, v := range scopes {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Ring holds the keys in force. Its zero value holds none.
type Ring struct {
	keys atomic.Pointer[[]Key]
}

// NewRing returns a Ring holding keys.
func NewRing(keys []Key) *Ring {
	r := &Ring{}
	r.Replace(keys)
	return r
}

// Replace puts keys in force, whole, for every request from now on.
func (r *Ring) Replace(keys []Key) { r.keys.Store(&keys) }

// Names lists the names of the keys in force.
func (r *Ring) Names() []string {
	var names []string
	for _, k := range r.load() {
		names = append(names, k.Name)
	}
	return names
}

func (r *Ring) load() []Key {
	if p := r.keys.Load(); p != nil {
		return *p
	}
	return nil
}

// Match returns the key given is, comparing its SHA-256 with every key's
// in constant time, so timing tells nothing of which key, nor of a key's
// length or prefix.
func (r *Ring) Match(given string) (Key, bool) {
	sum := sha256.Sum256([]byte(given))
	keys := r.load()
	match := -1
	for i := range keys {
		match = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(sum[:], keys[i].sum[:]), i, match)
	}
	if match < 0 || given == "" {
		return Key{}, false
	}
	return keys[match], true
}
