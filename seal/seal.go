// Package seal is the service's one sealing mechanism: AES-256-GCM
// (crypto/aes, crypto/cipher) under a keyring whose first key seals and
// whose every key opens, so keys rotate without breaking what is stored.
//
// Sealed secrets and email/SMS challenges each have their own Ring, with
// their own keys and their own version label, which is part of the
// associated data: a key configured for both still never opens one's
// blobs as the other's.
//
// A sealed text is "label.keyID.payload": the label (which is also the
// format's version), the ID of the key that sealed it, and the unpadded
// base64url of nonce || ciphertext || tag. Every character is URL-safe.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeyLen is the length of every key: AES-256.
const KeyLen = 32

// MaxKeyIDLen bounds a key ID, which travels in every sealed text.
const MaxKeyIDLen = 32

// ErrInvalid is the one error of Open: whatever the cause (a changed byte,
// a truncation, an unknown key, other associated data, another label),
// the answer is the same, so it tells an attacker nothing.
var ErrInvalid = errors.New("sealed text does not open")

// Key is one entry of a keyring.
type Key struct {
	ID     string
	Secret []byte // KeyLen bytes
}

// ParseKeys reads a comma-separated list of ID:KEY entries, KEY being
// KeyLen bytes in base64 (standard or URL alphabet, padding optional), as
// SEAL_KEYS and CHALLENGE_KEYS are written. An entry without "ID:" gets an
// ID derived from its key (the first 8 hex digits of its SHA-256), so
// keys written before IDs existed keep working. name prefixes errors,
// which never repeat a key.
func ParseKeys(name, spec string) ([]Key, error) {
	var keys []Key
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, text, hasID := strings.Cut(entry, ":")
		if !hasID {
			id, text = "", entry
		}
		text = strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(text), "=")
		secret, err := base64.RawURLEncoding.DecodeString(text)
		if err != nil || len(secret) != KeyLen {
			return nil, fmt.Errorf("%s entry %d: the key must be %d bytes in base64 (head -c %d /dev/urandom | base64)", name, i+1, KeyLen, KeyLen)
		}
		if !hasID {
			sum := sha256.Sum256(secret)
			id = hex.EncodeToString(sum[:4])
		}
		if !validID(id) {
			return nil, fmt.Errorf("%s entry %d: the ID must be 1 to %d letters, digits, '-' or '_'", name, i+1, MaxKeyIDLen)
		}
		for _, k := range keys {
			if k.ID == id {
				return nil, fmt.Errorf("%s entry %d: the ID %s is listed twice", name, i+1, id)
			}
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return keys, nil
}

func validID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// Ring seals with its first key and opens with any.
type Ring struct {
	label string
	keys  []ringKey
}

type ringKey struct {
	id   string
	aead cipher.AEAD
}

// NewRing returns a Ring for one kind of blob, named by label (letters and
// digits, e.g. "s1"), which every text it seals starts with and which is
// bound as associated data. It needs at least one key; IDs must be unique.
func NewRing(label string, keys []Key) (*Ring, error) {
	if !validID(label) || strings.ContainsAny(label, "-_") {
		return nil, errors.New("seal: label must be letters and digits")
	}
	if len(keys) == 0 {
		return nil, errors.New("seal: no key")
	}
	r := &Ring{label: label}
	seen := map[string]bool{}
	for _, k := range keys {
		if !validID(k.ID) {
			return nil, fmt.Errorf("seal: invalid key ID")
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("seal: key ID %s listed twice", k.ID)
		}
		seen[k.ID] = true
		if len(k.Secret) != KeyLen {
			return nil, fmt.Errorf("seal: key %s must be %d bytes", k.ID, KeyLen)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		r.keys = append(r.keys, ringKey{id: k.ID, aead: aead})
	}
	return r, nil
}

// KeyID is the ID of the key that seals.
func (r *Ring) KeyID() string { return r.keys[0].id }

// header is what precedes the payload, and the start of the associated data.
func (r *Ring) header(id string) string { return r.label + "." + id + "." }

// additional binds the label, the key ID and the caller's data: the header
// ends with the one '.' an ID cannot hold, so no two pairs of header and
// data give the same bytes.
func additional(header string, data []byte) []byte {
	return append([]byte(header), data...)
}

// Seal returns plain sealed under the first key, with data bound to it:
// Open must be given the same data. Nonces are 96 random bits from random
// (crypto/rand.Reader outside tests), so one key should seal at most 2^32
// texts, as NIST SP 800-38D asks; rotate long before that.
func (r *Ring) Seal(random io.Reader, plain, data []byte) (string, error) {
	k := r.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return "", fmt.Errorf("seal: random nonce: %w", err)
	}
	header := r.header(k.id)
	out := k.aead.Seal(nonce, nonce, plain, additional(header, data))
	return header + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns what text seals and the ID of the key that sealed it, or
// ErrInvalid.
func (r *Ring) Open(text string, data []byte) (plain []byte, keyID string, err error) {
	label, rest, ok := strings.Cut(text, ".")
	if !ok || label != r.label {
		return nil, "", ErrInvalid
	}
	id, payload, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, "", ErrInvalid
	}
	for _, k := range r.keys {
		if k.id != id {
			continue
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
		ns := k.aead.NonceSize()
		// base64's decoder skips newlines; a text must be exactly as sealed.
		if err != nil || len(raw) < ns+k.aead.Overhead() || base64.RawURLEncoding.EncodedLen(len(raw)) != len(payload) {
			return nil, "", ErrInvalid
		}
		plain, err := k.aead.Open(nil, raw[:ns], raw[ns:], additional(r.header(id), data))
		if err != nil {
			return nil, "", ErrInvalid
		}
		return plain, id, nil
	}
	return nil, "", ErrInvalid
}
