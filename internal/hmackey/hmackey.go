// Package hmackey computes HMACs (RFC 2104) with SHA-1, SHA-256 and
// SHA-512 from a key whose padded blocks are hashed once, when the Key is
// made: each MAC then costs two hash finalisations rather than four blocks,
// and no allocation. crypto/hmac reuses its pad states too, but allocates
// five times per key, and a TOTP key lives for one request.
//
// The hash states are kept in their encoding.BinaryAppender form and
// resumed into hashes made by the concrete constructors (sha1.New, ...),
// which the compiler inlines and keeps on the stack: each switch case
// below calls its own constructor for that reason.
package hmackey

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"errors"
)

// ErrHash is returned for a hash other than SHA-1, SHA-256 and SHA-512.
var ErrHash = errors.New("hmackey: hash must be SHA-1, SHA-256 or SHA-512")

// stateSize holds the largest encoded state: SHA-512's magic, eight 64-bit
// words, one 128-byte block and the length.
const stateSize = 4 + 8*8 + sha512.BlockSize + 8

// Key is an HMAC key with its inner and outer padded blocks hashed. It is a
// value: a Key that does not leave its function is not allocated.
type Key struct {
	hash         crypto.Hash
	inner, outer [stateSize]byte
	n            int // length of each encoded state
}

// New returns the Key for HMAC-h under secret; a secret longer than h's
// block is replaced by its hash, as RFC 2104 says.
func New(h crypto.Hash, secret []byte) (Key, error) {
	var blockSize int
	switch h {
	case crypto.SHA1, crypto.SHA256:
		blockSize = sha1.BlockSize // = sha256.BlockSize
	case crypto.SHA512:
		blockSize = sha512.BlockSize
	default:
		return Key{}, ErrHash
	}
	var pad [sha512.BlockSize]byte
	if len(secret) > blockSize {
		secret = sum(h, nil, secret, pad[:0])
	}
	copy(pad[:], secret)
	for i := range blockSize {
		pad[i] ^= 0x36
	}
	k := Key{hash: h}
	inner := save(h, k.inner[:0], pad[:blockSize])
	for i := range blockSize {
		pad[i] ^= 0x36 ^ 0x5c
	}
	outer := save(h, k.outer[:0], pad[:blockSize])
	if len(inner) != len(outer) || &inner[0] != &k.inner[0] || &outer[0] != &k.outer[0] {
		panic("hmackey: hash state larger than stateSize")
	}
	k.n = len(inner)
	return k, nil
}

// Sum appends HMAC(key, msg) to dst.
func (k *Key) Sum(dst, msg []byte) []byte {
	var inner [sha512.Size]byte
	return sum(k.hash, k.outer[:k.n], sum(k.hash, k.inner[:k.n], msg, inner[:0]), dst)
}

// save hashes block from the start and appends the encoded state to dst.
// The standard hashes cannot fail to encode their state.
func save(h crypto.Hash, dst, block []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.New()
		d.Write(block)
		dst, _ = d.(encoding.BinaryAppender).AppendBinary(dst)
	case crypto.SHA512:
		d := sha512.New()
		d.Write(block)
		dst, _ = d.(encoding.BinaryAppender).AppendBinary(dst)
	default:
		d := sha1.New()
		d.Write(block)
		dst, _ = d.(encoding.BinaryAppender).AppendBinary(dst)
	}
	return dst
}

// sum hashes msg from state, or from the start when state is nil, and
// appends the hash to dst. The states come from save, so they decode.
func sum(h crypto.Hash, state, msg, dst []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.New()
		if state != nil {
			_ = d.(encoding.BinaryUnmarshaler).UnmarshalBinary(state)
		}
		d.Write(msg)
		return d.Sum(dst)
	case crypto.SHA512:
		d := sha512.New()
		if state != nil {
			_ = d.(encoding.BinaryUnmarshaler).UnmarshalBinary(state)
		}
		d.Write(msg)
		return d.Sum(dst)
	}
	d := sha1.New()
	if state != nil {
		_ = d.(encoding.BinaryUnmarshaler).UnmarshalBinary(state)
	}
	d.Write(msg)
	return d.Sum(dst)
}
