package otp

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Bounds on secrets, in bytes.
const (
	// MinKeyLen keeps the 80-bit keys of early Google Authenticator usable.
	MinKeyLen = 10
	MaxKeyLen = 1024
	// MinGenerateLen is RFC 4226's 128-bit minimum for new secrets.
	MinGenerateLen     = 16
	MaxGenerateLen     = 128
	DefaultGenerateLen = 20
)

// Encoding is how a secret is written as text.
type Encoding string

// The encodings a secret may come in.
const (
	// Base32 is RFC 4648 base32: case-insensitive, padding optional, spaces
	// and hyphens ignored, as authenticator apps display it.
	Base32 Encoding = "base32"
	Hex    Encoding = "hex"
	// Base64 accepts the standard and the URL alphabet, padding optional.
	Base64 Encoding = "base64"
	// ASCII uses the text's own bytes as the key, as speakeasy does by default.
	ASCII Encoding = "ascii"
)

// Encodings lists every Encoding, in documentation order.
var Encodings = []Encoding{Base32, Hex, Base64, ASCII}

// ParseEncoding returns the Encoding named s (case-insensitive); the empty
// string means Base32.
func ParseEncoding(s string) (Encoding, error) {
	if s == "" {
		return Base32, nil
	}
	e := Encoding(strings.ToLower(s))
	switch e {
	case Base32, Hex, Base64, ASCII:
		return e, nil
	}
	return "", ErrUnknownEncoding
}

var (
	base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)
	base64URL   = base64.URLEncoding.WithPadding(base64.NoPadding)
)

// Decode returns the key bytes that s encodes. Its errors never include s.
func (e Encoding) Decode(s string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch e {
	case Base32:
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '-', '=', '\t':
				return -1
			}
			return r
		}, strings.ToUpper(s))
		b, err = base32NoPad.DecodeString(s)
	case Hex:
		b, err = hex.DecodeString(strings.TrimSpace(s))
	case Base64:
		s = strings.TrimRight(strings.TrimSpace(s), "=")
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
		b, err = base64URL.DecodeString(s)
	case ASCII:
		b = []byte(s)
	default:
		return nil, ErrUnknownEncoding
	}
	if err != nil {
		// The decoder's message quotes input bytes; keep only our own.
		return nil, ErrInvalidSecret
	}
	if err := checkKeyLen(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Encode writes key as text in e: base32 unpadded and upper case, hex lower
// case, base64 standard with padding. ASCII cannot carry random bytes.
func (e Encoding) Encode(key []byte) (string, error) {
	switch e {
	case Base32:
		return base32NoPad.EncodeToString(key), nil
	case Hex:
		return hex.EncodeToString(key), nil
	case Base64:
		return base64.StdEncoding.EncodeToString(key), nil
	case ASCII:
		return "", field("encoding", ErrCannotEncode)
	}
	return "", field("encoding", ErrUnknownEncoding)
}

func checkKeyLen(key []byte) error {
	switch {
	case len(key) < MinKeyLen:
		return ErrSecretTooShort
	case len(key) > MaxKeyLen:
		return ErrSecretTooLong
	}
	return nil
}

// DecodeSecret decodes secret, written in the encoding named (ParseEncoding's
// names; empty is base32). Its errors are *FieldError naming "encoding" or
// "secret", and never include the secret.
func DecodeSecret(encoding, secret string) ([]byte, error) {
	enc, err := ParseEncoding(encoding)
	if err != nil {
		return nil, field("encoding", err)
	}
	if secret == "" {
		return nil, field("secret", ErrMissing)
	}
	key, err := enc.Decode(secret)
	return key, field("secret", err)
}

// GenerateSecret reads a new key of length bytes from random, which should
// be crypto/rand.Reader outside tests.
func GenerateSecret(random io.Reader, length int) ([]byte, error) {
	if length < MinGenerateLen || length > MaxGenerateLen {
		return nil, field("length", ErrInvalidLength)
	}
	key := make([]byte, length)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, fmt.Errorf("read random secret: %w", err)
	}
	return key, nil
}
