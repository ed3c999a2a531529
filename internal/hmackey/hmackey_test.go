package hmackey_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/internal/hmackey"
)

var hashes = []struct {
	name string
	hash crypto.Hash
	new  func() hash.Hash
}{
	{"SHA1", crypto.SHA1, sha1.New},
	{"SHA256", crypto.SHA256, sha256.New},
	{"SHA512", crypto.SHA512, sha512.New},
}

// TestAgreesWithCryptoHMAC: keys of every length around the block sizes,
// shorter, equal and longer (hashed first), and messages up to two blocks.
func TestAgreesWithCryptoHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			for keyLen := 0; keyLen <= 300; keyLen++ {
				secret := make([]byte, keyLen)
				for i := range secret {
					secret[i] = byte(rng.Uint32())
				}
				msg := make([]byte, rng.IntN(2*sha512.BlockSize+1))
				for i := range msg {
					msg[i] = byte(rng.Uint32())
				}
				k, err := hmackey.New(h.hash, secret)
				require.NoError(t, err)
				want := hmac.New(h.new, secret)
				want.Write(msg)
				require.Equal(t, want.Sum(nil), k.Sum(nil, msg), "key of %d bytes, message of %d", keyLen, len(msg))
			}
		})
	}
}

// TestPublishedVectors checks HMAC-SHA256 and HMAC-SHA512 against RFC
// 4231's test case 2, and HMAC-SHA1 against RFC 2202's test case 2.
func TestPublishedVectors(t *testing.T) {
	tests := []struct {
		name string
		hash crypto.Hash
		want string
	}{
		{"RFC 2202 SHA1", crypto.SHA1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{"RFC 4231 SHA256", crypto.SHA256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"RFC 4231 SHA512", crypto.SHA512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := hmackey.New(tt.hash, []byte("Jefe"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, hexString(k.Sum(nil, []byte("what do ya want for nothing?"))))
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

func TestOtherHashesRefused(t *testing.T) {
	_, err := hmackey.New(crypto.MD5, []byte("k"))
	assert.True(t, errors.Is(err, hmackey.ErrHash))
}

// TestAllocatesNothing: a Key and its MACs live on the stack.
func TestAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector; .ci/run runs this without it")
	}
	secret, msg := []byte("12345678901234567890"), []byte("\x00\x00\x00\x00\x00\x00\x00\x01")
	for _, h := range hashes {
		allocs := testing.AllocsPerRun(100, func() {
			var mac [sha512.Size]byte
			k, _ := hmackey.New(h.hash, secret)
			k.Sum(mac[:0], msg)
		})
		assert.Zero(t, allocs, h.name)
	}
}

func BenchmarkKeyAndThreeMACs(b *testing.B) {
	secret, msg := []byte("12345678901234567890"), []byte("\x00\x00\x00\x00\x00\x00\x00\x01")
	for _, h := range hashes {
		b.Run(h.name+"/hmackey", func(b *testing.B) {
			b.ReportAllocs()
			var mac [sha512.Size]byte
			for b.Loop() {
				k, _ := hmackey.New(h.hash, secret)
				for range 3 {
					k.Sum(mac[:0], msg)
				}
			}
		})
		b.Run(h.name+"/crypto-hmac", func(b *testing.B) {
			b.ReportAllocs()
			var mac [sha512.Size]byte
			for b.Loop() {
				m := hmac.New(h.new, secret)
				for range 3 {
					m.Reset()
					m.Write(msg)
					m.Sum(mac[:0])
				}
			}
		})
	}
}
