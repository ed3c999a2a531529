package recovery_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/recovery"
	"github.com/acme/totp/seal"
)

func TestGenerate(t *testing.T) {
	codes, hashes, err := plain.Generate(rand.Reader, recovery.DefaultCount)
	require.NoError(t, err)
	require.Len(t, codes, recovery.DefaultCount)
	require.Len(t, hashes, recovery.DefaultCount)
	for i, code := range codes {
		assert.Regexp(t, `^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`, code)
		norm, ok := recovery.Normalize(code)
		require.True(t, ok)
		assert.Equal(t, recovery.Hash(norm), hashes[i])
		assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, hashes[i])
	}
	// 16 characters of a 32-letter alphabet: 80 bits. Over many codes every
	// letter turns up, in about equal numbers.
	counts := map[rune]int{}
	many, _, err := plain.Generate(rand.Reader, recovery.MaxCount)
	require.NoError(t, err)
	for range 50 {
		more, _, _ := plain.Generate(rand.Reader, recovery.MaxCount)
		many = append(many, more...)
	}
	for _, code := range many {
		for _, r := range strings.ReplaceAll(code, "-", "") {
			counts[r]++
		}
	}
	assert.Len(t, counts, 32)
	total := len(many) * 16
	for r, n := range counts {
		assert.InDelta(t, total/32, n, float64(total/32)/3, "letter %c", r)
	}
	for _, n := range []int{0, recovery.MaxCount + 1} {
		_, _, err := plain.Generate(rand.Reader, n)
		assert.ErrorIs(t, err, recovery.ErrInvalidCount)
	}
	_, _, err = plain.Generate(bytes.NewReader(nil), 1)
	assert.Error(t, err)
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		give string
		want string
		ok   bool
	}{
		{"7KQ2-M4XD-9HRT-PBWC", "7KQ2M4XD9HRTPBWC", true},
		{"7kq2 m4xd 9hrt pbwc", "7KQ2M4XD9HRTPBWC", true},
		{"7KQ2M4XD9HRTPBWC", "7KQ2M4XD9HRTPBWC", true},
		{"OIL0-0000-0000-0000", "0110000000000000", true},
		{"7KQ2-M4XD-9HRT-PBW", "", false},
		{"7KQ2-M4XD-9HRT-PBWCX", "", false},
		{"7KQ2-M4XD-9HRT-PBWU", "", false},
		{"7KQ2-M4XD-9HRT-PBW!", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, ok := recovery.Normalize(tt.give)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func newService() *recovery.Service {
	now := time.Unix(1_700_000_000, 0)
	return recovery.New(recovery.Options{Store: guard.NewMemory(0), Now: func() time.Time { return now }, MaxFailures: 3, FailureWindow: 5 * time.Minute, Keys: []seal.Key{testKey}})
}

var testKey = seal.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, seal.KeyLen)}

// plain makes codes with plain SHA-256 hashes, as a service without keys does.
var plain = recovery.New(recovery.Options{})

func TestVerifyEachAtItsIndex(t *testing.T) {
	codes, hashes, err := plain.Generate(rand.Reader, 10)
	require.NoError(t, err)
	s := plain // no store: matching only
	for i, code := range codes {
		got, err := s.Verify(context.Background(), "", strings.ToLower(strings.ReplaceAll(code, "-", " ")), hashes)
		require.NoError(t, err)
		assert.Equal(t, recovery.Result{Valid: true, Index: i}, got)
	}
	// A used code whose hash the caller deleted no longer verifies.
	got, err := s.Verify(context.Background(), "", codes[3], append(hashes[:3:3], hashes[4:]...))
	require.NoError(t, err)
	assert.Equal(t, recovery.Result{Reason: guard.Mismatch}, got)
	got, err = s.Verify(context.Background(), "", "12", hashes)
	require.NoError(t, err)
	assert.Equal(t, recovery.Result{Reason: guard.Malformed}, got)
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	_, hashes, err := plain.Generate(rand.Reader, 3)
	require.NoError(t, err)
	tests := []struct {
		name      string
		hashes    []string
		wantIndex int
	}{
		{"no prefix", []string{hashes[0], strings.TrimPrefix(hashes[1], "sha256:")}, 1},
		{"short", []string{hashes[0][:70]}, 0},
		{"not hex", []string{hashes[0], hashes[1], "sha256:" + strings.Repeat("zz", 32)}, 2},
		{"md5", []string{"md5:" + strings.Repeat("00", 16)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plain.Verify(context.Background(), "", "0000-0000-0000-0000", tt.hashes)
			require.ErrorIs(t, err, recovery.ErrMalformedHash)
			assert.Equal(t, fmt.Sprintf("hashes[%d]", tt.wantIndex), fault.From(err).Field)
		})
	}
	_, err = plain.Verify(context.Background(), "", "0000-0000-0000-0000", make([]string, 21))
	assert.ErrorIs(t, err, recovery.ErrTooManyHashes)
	_, err = plain.Verify(context.Background(), "", "0000-0000-0000-0000", nil)
	assert.ErrorIs(t, err, recovery.ErrNoHashes)
}

func TestThrottleAndSingleUse(t *testing.T) {
	codes, hashes, err := plain.Generate(rand.Reader, 5)
	require.NoError(t, err)
	s := newService()
	ctx := context.Background()

	got, err := s.Verify(ctx, "", codes[0], hashes)
	require.NoError(t, err)
	assert.True(t, got.Valid)
	got, err = s.Verify(ctx, "", codes[0], hashes)
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, got.Reason, "a used code is refused even before its hash is deleted")

	for range 3 {
		got, err := s.Verify(ctx, "", "0000-0000-0000-0000", hashes)
		require.NoError(t, err)
		assert.Equal(t, guard.Mismatch, got.Reason)
	}
	_, err = s.Verify(ctx, "", codes[1], hashes)
	assert.ErrorIs(t, err, guard.ErrThrottled, "locked, even for a right code")
	// The same set in another order is the same set.
	reversed := []string{hashes[4], hashes[3], hashes[2], hashes[1], hashes[0]}
	_, err = s.Verify(ctx, "", codes[2], reversed)
	assert.ErrorIs(t, err, guard.ErrThrottled)
}

func TestConcurrentUseOfOneCode(t *testing.T) {
	codes, hashes, err := plain.Generate(rand.Reader, 1)
	require.NoError(t, err)
	s := newService()
	var valid atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			got, err := s.Verify(context.Background(), "", codes[0], hashes)
			assert.NoError(t, err)
			if got.Valid {
				valid.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), valid.Load())
}

// TestUsedCodeRefusedByItsOwnHash: a used code is refused whatever set it
// comes with, so a caller deleting hashes one by one cannot bring it back
// by sending a smaller set.
func TestUsedCodeRefusedByItsOwnHash(t *testing.T) {
	s := newService()
	codes, hashes, err := s.Generate(rand.Reader, 3)
	require.NoError(t, err)
	ctx := context.Background()
	for _, i := range []int{1, 0} {
		got, err := s.Verify(ctx, "", codes[i], hashes)
		require.NoError(t, err)
		require.Equal(t, recovery.Result{Valid: true, Index: i}, got)
	}
	got, err := s.Verify(ctx, "", codes[0], []string{hashes[0], hashes[2]})
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, got.Reason, "C0 with {h0, h2}")
	got, err = s.Verify(ctx, "", codes[0], []string{hashes[0]})
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, got.Reason, "C0 with {h0}")
}

// TestKeyedHashes: hashes are HMAC-SHA256 under the first key, named by
// its ID; a code verifies against its hash in a set that mixes keyed and
// plain hashes; a hash under a key the service lacks is named, not
// silently a mismatch.
func TestKeyedHashes(t *testing.T) {
	s := newService()
	codes, hashes, err := s.Generate(rand.Reader, 2)
	require.NoError(t, err)
	norm, _ := recovery.Normalize(codes[0])
	mac := hmac.New(sha256.New, testKey.Secret)
	mac.Write([]byte(norm))
	assert.Equal(t, "hmac-sha256:k1:"+hex.EncodeToString(mac.Sum(nil)), hashes[0])

	oldCodes, oldHashes, err := plain.Generate(rand.Reader, 1)
	require.NoError(t, err)
	set := append(hashes, oldHashes...)
	for i, code := range append(codes, oldCodes...) {
		got, err := s.Verify(context.Background(), "", code, set)
		require.NoError(t, err)
		assert.Equal(t, recovery.Result{Valid: true, Index: i}, got)
	}
	_, err = plain.Verify(context.Background(), "", codes[0], hashes)
	require.ErrorIs(t, err, recovery.ErrUnknownKey)
	assert.Equal(t, "hashes[0]", fault.From(err).Field)
	_, err = s.Verify(context.Background(), "", codes[0], []string{"hmac-sha256:k1"})
	assert.ErrorIs(t, err, recovery.ErrMalformedHash)
}
