package seal_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/seal"
)

func key(id string, b byte) seal.Key {
	return seal.Key{ID: id, Secret: bytes.Repeat([]byte{b}, seal.KeyLen)}
}

func ring(t *testing.T, label string, keys ...seal.Key) *seal.Ring {
	t.Helper()
	r, err := seal.NewRing(label, keys)
	require.NoError(t, err)
	return r
}

func TestParseKeys(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // has '+' and '/'
	k2 := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	for _, tc := range []struct {
		name, spec string
		ids        []string
		err        bool
	}{
		{name: "empty", spec: "", ids: nil},
		{name: "one", spec: "2026a:" + k1, ids: []string{"2026a"}},
		{name: "two, spaces and an empty entry", spec: " new:" + k2 + " ,, old:" + k1, ids: []string{"new", "old"}},
		// printf '\xfb%.0s' $(seq 32) | sha256sum | cut -c1-8
		{name: "bare key gets a derived ID", spec: k1, ids: []string{"456a0498"}},
		{name: "short key", spec: "a:" + base64.StdEncoding.EncodeToString(make([]byte, 31)), err: true},
		{name: "long key", spec: "a:" + base64.StdEncoding.EncodeToString(make([]byte, 33)), err: true},
		{name: "not base64", spec: "a:!!!!", err: true},
		{name: "empty ID", spec: ":" + k1, err: true},
		{name: "ID with a dot", spec: "a.b:" + k1, err: true},
		{name: "ID too long", spec: strings.Repeat("a", 33) + ":" + k1, err: true},
		{name: "ID twice", spec: "a:" + k2 + ",a:" + k1, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := seal.ParseKeys("SEAL_KEYS", tc.spec)
			if tc.err {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), k1, "errors never repeat a key")
				assert.Contains(t, err.Error(), "SEAL_KEYS entry")
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
				assert.Len(t, k.Secret, seal.KeyLen)
			}
			assert.Equal(t, tc.ids, ids)
		})
	}
}

func TestNewRingRefuses(t *testing.T) {
	for name, keys := range map[string][]seal.Key{
		"no key":        nil,
		"duplicate ID":  {key("a", 1), key("a", 2)},
		"short key":     {{ID: "a", Secret: []byte("short")}},
		"invalid ID":    {key("a.b", 1)},
		"empty key ID":  {key("", 1)},
		"ID over bound": {key(strings.Repeat("x", seal.MaxKeyIDLen+1), 1)},
	} {
		_, err := seal.NewRing("s1", keys)
		assert.Error(t, err, name)
	}
	_, err := seal.NewRing("s.1", []seal.Key{key("a", 1)})
	assert.Error(t, err, "a label with a dot")
}

func TestRoundTrip(t *testing.T) {
	r := ring(t, "s1", key("k1", 1))
	for _, plain := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte{0xff}, 1100)} {
		text, err := r.Seal(rand.Reader, plain, []byte("user-42"))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(text, "s1.k1."), text)
		assert.Regexp(t, `^[A-Za-z0-9._-]+$`, text, "URL-safe")
		got, id, err := r.Open(text, []byte("user-42"))
		require.NoError(t, err)
		assert.Equal(t, "k1", id)
		assert.True(t, bytes.Equal(plain, got), "%d bytes", len(plain))
	}
	a, _ := r.Seal(rand.Reader, []byte("same"), nil)
	b, _ := r.Seal(rand.Reader, []byte("same"), nil)
	assert.NotEqual(t, a, b, "every seal has its own nonce")
}

// TestEveryChangeIsInvalid: every single-character change of a sealed
// text (to every URL-safe character, and to the characters base64
// decoders skip), every truncation and an extension give ErrInvalid.
func TestEveryChangeIsInvalid(t *testing.T) {
	r := ring(t, "s1", key("k1", 1), key("k2", 2))
	text, err := r.Seal(rand.Reader, []byte("0123456789abcdef"), []byte("ctx"))
	require.NoError(t, err)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/\n\r "
	for i := range len(text) {
		for _, c := range []byte(alphabet) {
			if c == text[i] {
				continue
			}
			changed := []byte(text)
			changed[i] = c
			_, _, err := r.Open(string(changed), []byte("ctx"))
			require.ErrorIs(t, err, seal.ErrInvalid, "byte %d to %q", i, c)
		}
	}
	for n := range len(text) {
		_, _, err := r.Open(text[:n], []byte("ctx"))
		require.ErrorIs(t, err, seal.ErrInvalid, "truncated to %d", n)
	}
	_, _, err = r.Open(text+"A", []byte("ctx"))
	assert.ErrorIs(t, err, seal.ErrInvalid)
	_, _, err = r.Open(text, []byte("ctx"))
	assert.NoError(t, err, "the untouched text opens")
}

func TestBindings(t *testing.T) {
	r := ring(t, "s1", key("k1", 1))
	text, err := r.Seal(rand.Reader, []byte("secret"), []byte("user-42"))
	require.NoError(t, err)
	for name, data := range map[string][]byte{"wrong data": []byte("user-43"), "missing data": nil, "longer data": []byte("user-420")} {
		_, _, err := r.Open(text, data)
		assert.ErrorIs(t, err, seal.ErrInvalid, name)
	}

	// The key ID is bound: the same key under another ID does not open it.
	renamed := ring(t, "s1", key("k9", 1))
	_, _, err = renamed.Open(strings.Replace(text, ".k1.", ".k9.", 1), []byte("user-42"))
	assert.ErrorIs(t, err, seal.ErrInvalid, "renamed key")
	_, _, err = renamed.Open(text, []byte("user-42"))
	assert.ErrorIs(t, err, seal.ErrInvalid, "unknown key ID")

	// The label is bound: another kind of blob under the very same key
	// does not open, whether or not its label is rewritten.
	other := ring(t, "c1", key("k1", 1))
	_, _, err = other.Open(text, []byte("user-42"))
	assert.ErrorIs(t, err, seal.ErrInvalid, "label differs")
	_, _, err = other.Open("c1"+strings.TrimPrefix(text, "s1"), []byte("user-42"))
	assert.ErrorIs(t, err, seal.ErrInvalid, "label rewritten")
}

func TestRotation(t *testing.T) {
	old := ring(t, "s1", key("old", 1))
	text, err := old.Seal(rand.Reader, []byte("secret"), nil)
	require.NoError(t, err)

	both := ring(t, "s1", key("new", 2), key("old", 1))
	assert.Equal(t, "new", both.KeyID())
	plain, id, err := both.Open(text, nil)
	require.NoError(t, err, "the old key opens while it is listed")
	assert.Equal(t, "old", id)
	resealed, err := both.Seal(rand.Reader, plain, nil)
	require.NoError(t, err)

	newOnly := ring(t, "s1", key("new", 2))
	_, _, err = newOnly.Open(text, nil)
	assert.ErrorIs(t, err, seal.ErrInvalid, "dropped key")
	got, id, err := newOnly.Open(resealed, nil)
	require.NoError(t, err)
	assert.Equal(t, "new", id)
	assert.Equal(t, []byte("secret"), got)
}
