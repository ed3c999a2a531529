package otp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/seal"
)

// SealLabel starts every sealed secret: its format's version, bound as
// associated data, which challenges (another label) never share.
const SealLabel = "s1"

// MaxContextLen bounds a seal's context, in bytes.
const MaxContextLen = 1024

// ErrContextTooLong means a context over MaxContextLen.
var ErrContextTooLong = fault.New(fault.Invalid, api.CodeInvalidParameter, "context", fmt.Sprintf("must be at most %d bytes", MaxContextLen))

// ErrInvalidSealed is the one answer to a sealed secret that does not
// open, whatever the cause: a changed byte, a truncation, an unknown key
// ID, another context, another version.
var ErrInvalidSealed = fault.New(fault.Invalid, api.CodeInvalidSealed, "sealed", "does not open: it was changed, sealed under a key this instance does not have, or sealed with another context")

// Sealer seals secrets with their parameters, so a caller can store a
// secret that is useless without this service's keys, and opens them.
type Sealer struct {
	ring            *seal.Ring
	random          io.Reader
	contextOptional bool
}

// SealerOptions are what NewSealer builds a Sealer from.
type SealerOptions struct {
	// Random is where nonces come from: crypto/rand.Reader when nil.
	Random io.Reader
	// ContextOptional lets a secret be sealed and opened without a
	// context. By default one is needed: a seal bound to nothing opens in
	// any user's row, so a row copied to another user would still work.
	ContextOptional bool
}

// NewSealer returns a Sealer whose first key seals and all open: keys
// may rotate without breaking stored rows.
func NewSealer(keys []seal.Key, o SealerOptions) (*Sealer, error) {
	ring, err := seal.NewRing(SealLabel, keys)
	if err != nil {
		return nil, err
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	return &Sealer{ring: ring, random: o.Random, contextOptional: o.ContextOptional}, nil
}

// KeyID is the ID of the key that seals.
func (s *Sealer) KeyID() string { return s.ring.KeyID() }

// ContextOptional reports whether secrets may be sealed without a context.
func (s *Sealer) ContextOptional() bool { return s.contextOptional }

// needContext is the error for a missing context, when one is needed.
func (s *Sealer) needContext(context string) error {
	if context == "" && !s.contextOptional {
		return field("context", ErrMissing)
	}
	return nil
}

// Seal returns secret and p sealed under the ring's first key, bound to
// context (e.g. the user's immutable ID; empty only with ContextOptional),
// and that key's ID.
func (s *Sealer) Seal(secret []byte, p Params, context string) (text, keyID string, err error) {
	if len(context) > MaxContextLen {
		return "", "", ErrContextTooLong
	}
	if err := s.needContext(context); err != nil {
		return "", "", err
	}
	plain, err := appendBinary(nil, secret, p)
	if err != nil {
		return "", "", err
	}
	text, err = s.ring.Seal(s.random, plain, []byte(context))
	clear(plain)
	return text, s.ring.KeyID(), err
}

// Open returns the secret and parameters text seals, and the ID of the
// key that sealed it; the same context must come as when it was sealed.
// Every failure is ErrInvalidSealed.
func (s *Sealer) Open(text, context string) (secret []byte, p Params, keyID string, err error) {
	if err := s.needContext(context); err != nil {
		return nil, Params{}, "", err
	}
	plain, keyID, err := s.ring.Open(text, []byte(context))
	if err != nil {
		return nil, Params{}, "", field("sealed", ErrInvalidSealed)
	}
	if secret, p, err = parseBinary(plain); err != nil {
		return nil, Params{}, "", field("sealed", ErrInvalidSealed)
	}
	return secret, p, keyID, nil
}

// errBinary means bytes are not a secret in appendBinary's layout. Only a
// sealed secret's plaintext is read this way, and it was authenticated
// first, so this means a bug or a key that sealed something else.
var errBinary = errors.New("not a secret in the sealed layout")

// Byte codes of the binary layout; never renumber them.
var (
	algorithmCodes = map[Algorithm]byte{SHA1: 1, SHA256: 2, SHA512: 3}
	encoderCodes   = map[Encoder]byte{EncoderDefault: 0, EncoderSteam: 1}
)

// binaryVersion is the layout's first byte.
const binaryVersion = 1

// appendBinary appends secret and p to b in the layout sealed secrets
// carry: a version byte, the algorithm, the encoder, the digits, the
// period in two bytes, then the secret's bytes.
func appendBinary(b, secret []byte, p Params) ([]byte, error) {
	if err := checkKeyLen(secret); err != nil {
		return nil, field("secret", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b = append(b, binaryVersion, algorithmCodes[p.Algorithm], encoderCodes[p.Encoder], byte(p.Digits))
	b = binary.BigEndian.AppendUint16(b, uint16(p.Period))
	return append(b, secret...), nil
}

// parseBinary reads what appendBinary wrote. The secret it returns shares
// b's memory.
func parseBinary(b []byte) ([]byte, Params, error) {
	const head = 6
	if len(b) < head || b[0] != binaryVersion {
		return nil, Params{}, errBinary
	}
	p := Params{Digits: int(b[3]), Period: int(binary.BigEndian.Uint16(b[4:]))}
	for a, code := range algorithmCodes {
		if code == b[1] {
			p.Algorithm = a
		}
	}
	found := false
	for e, code := range encoderCodes {
		if code == b[2] {
			p.Encoder, found = e, true
		}
	}
	secret := b[head:]
	if !found || p.Validate() != nil || checkKeyLen(secret) != nil {
		return nil, Params{}, errBinary
	}
	return secret, p, nil
}
