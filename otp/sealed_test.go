package otp_test

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/seal"
)

var key1 = seal.Key{ID: "k1", Secret: bytes.Repeat([]byte{1}, seal.KeyLen)}

func sealer(t *testing.T, keys ...seal.Key) *otp.Sealer {
	t.Helper()
	return sealerWith(t, otp.SealerOptions{}, keys...)
}

func sealerWith(t *testing.T, o otp.SealerOptions, keys ...seal.Key) *otp.Sealer {
	t.Helper()
	if len(keys) == 0 {
		keys = []seal.Key{key1}
	}
	s, err := otp.NewSealer(keys, o)
	require.NoError(t, err)
	return s
}

// TestSealRoundTrip: every algorithm, digits, period and encoder comes
// back from the seal, and the opened secret makes the same codes.
func TestSealRoundTrip(t *testing.T) {
	s := sealer(t)
	secret := []byte("12345678901234567890")
	now := time.Unix(1_700_000_000, 0)
	var params []otp.Params
	for _, a := range otp.Algorithms {
		for _, d := range []int{6, 7, 8} {
			for _, p := range []int{otp.MinPeriod, 30, 60, otp.MaxPeriod} {
				params = append(params, otp.Params{Algorithm: a, Digits: d, Period: p})
			}
		}
		params = append(params, otp.Params{Algorithm: a, Digits: otp.SteamDigits, Period: 30, Encoder: otp.EncoderSteam})
	}
	for _, p := range params {
		text, id, err := s.Seal(secret, p, "user-42")
		require.NoError(t, err)
		assert.Equal(t, "k1", id)
		gotSecret, gotParams, id, err := s.Open(text, "user-42")
		require.NoError(t, err, "%+v", p)
		assert.Equal(t, "k1", id)
		assert.Equal(t, p, gotParams)
		assert.Equal(t, secret, gotSecret)

		want, err := otp.NewKey(secret, p)
		require.NoError(t, err)
		got, err := otp.NewKey(gotSecret, gotParams)
		require.NoError(t, err)
		wc, _ := want.Generate(now)
		gc, _ := got.Generate(now)
		assert.Equal(t, wc, gc, "%+v", p)
	}
	long := bytes.Repeat([]byte{0xee}, otp.MaxKeyLen)
	text, _, err := s.Seal(long, otp.DefaultParams, "u")
	require.NoError(t, err)
	got, _, _, err := s.Open(text, "u")
	require.NoError(t, err)
	assert.Equal(t, long, got, "the longest secret")
}

func TestSealRefusesWhatCannotBeUsed(t *testing.T) {
	s := sealer(t)
	_, _, err := s.Seal([]byte("short"), otp.DefaultParams, "u")
	assert.ErrorIs(t, err, otp.ErrSecretTooShort)
	_, _, err = s.Seal([]byte("12345678901234567890"), otp.Params{Algorithm: otp.SHA1, Digits: 9, Period: 30}, "u")
	assert.ErrorIs(t, err, otp.ErrInvalidDigits)
}

// TestContextRequired: without ContextOptional, a seal bound to nothing
// is neither made nor opened, so a row copied to another user never works.
func TestContextRequired(t *testing.T) {
	s := sealer(t)
	_, _, err := s.Seal([]byte("12345678901234567890"), otp.DefaultParams, "")
	var fe *fault.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "context", fe.Field)
	assert.ErrorIs(t, err, otp.ErrMissing)
	optional := sealerWith(t, otp.SealerOptions{ContextOptional: true})
	text, _, err := optional.Seal([]byte("12345678901234567890"), otp.DefaultParams, "")
	require.NoError(t, err)
	_, _, _, err = s.Open(text, "")
	assert.ErrorIs(t, err, otp.ErrMissing, "nor opened without one")
	_, _, _, err = optional.Open(text, "")
	assert.NoError(t, err)
}

func TestOpenIsOneAnswer(t *testing.T) {
	s := sealer(t)
	text, _, err := s.Seal([]byte("12345678901234567890"), otp.DefaultParams, "user-42")
	require.NoError(t, err)
	other := sealer(t, seal.Key{ID: "k2", Secret: bytes.Repeat([]byte{2}, seal.KeyLen)})
	// A challenge ring holding the very same key.
	challenges, err := seal.NewRing("c1", []seal.Key{{ID: "k1", Secret: bytes.Repeat([]byte{1}, seal.KeyLen)}})
	require.NoError(t, err)
	blob, err := challenges.Seal(rand.Reader, []byte("a challenge's plaintext"), nil)
	require.NoError(t, err)
	// Challenges carry no context: only an optional-context sealer could
	// take one for a sealed secret, and its label still refuses it.
	optional := sealerWith(t, otp.SealerOptions{ContextOptional: true})
	for name, try := range map[string]func() error{
		"wrong context":                func() error { _, _, _, err := s.Open(text, "user-43"); return err },
		"no context, context optional": func() error { _, _, _, err := optional.Open(text, ""); return err },
		"unknown key ID":               func() error { _, _, _, err := other.Open(text, "user-42"); return err },
		"a challenge":                  func() error { _, _, _, err := optional.Open(blob, ""); return err },
		"empty":                        func() error { _, _, _, err := s.Open("", "user-42"); return err },
	} {
		err := try()
		var fe *fault.Error
		require.ErrorAs(t, err, &fe, name)
		assert.Equal(t, "sealed", fe.Field, name)
		assert.ErrorIs(t, err, otp.ErrInvalidSealed, name)
		assert.Equal(t, "sealed does not open: it was changed, sealed under a key this instance does not have, or sealed with another context", err.Error(), name)
	}
	// A sealed secret does not open as a challenge either.
	_, _, err = challenges.Open(text, nil)
	assert.ErrorIs(t, err, seal.ErrInvalid)
}

// TestOpenRefusesAnotherPlaintext: what opens under the key but is not a
// sealed secret's layout is the same invalid answer, never a panic.
func TestOpenRefusesAnotherPlaintext(t *testing.T) {
	s := sealer(t)
	ring, err := seal.NewRing(otp.SealLabel, []seal.Key{key1})
	require.NoError(t, err)
	for _, plain := range [][]byte{nil, {1}, {2, 1, 0, 6, 0, 30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 9, 0, 6, 0, 30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 1, 0, 6, 0, 30, 1}} {
		text, err := ring.Seal(rand.Reader, plain, []byte("u"))
		require.NoError(t, err)
		_, _, _, err = s.Open(text, "u")
		assert.ErrorIs(t, err, otp.ErrInvalidSealed, "%v", plain)
	}
}
