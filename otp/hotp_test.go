package otp_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/otp"
)

// rfc4226 is RFC 4226 Appendix D: HOTP codes of counters 0 to 9 for the
// secret "12345678901234567890", 6 digits.
var rfc4226 = []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}

func TestHOTPRFC4226(t *testing.T) {
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	for counter, want := range rfc4226 {
		assert.Equal(t, want, code(t, key, uint64(counter)), "counter %d", counter)
		m, err := key.VerifyCounter(want, 0, 9)
		require.NoError(t, err)
		assert.Equal(t, otp.Match{Valid: true, Step: uint64(counter), Drift: int64(counter)}, m)
	}
}

// TestHOTPAgreesWithOathtool holds random secrets, counters and lengths to
// oathtool's answer, an implementation that shares no code with pquerna.
func TestHOTPAgreesWithOathtool(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("oathtool is not installed (apt-get install oathtool), and CI must run this test")
		}
		t.Skip("!!! oathtool is not installed (apt-get install oathtool): SKIPPING the differential test")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		secret := make([]byte, otp.MinKeyLen+rng.IntN(54))
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		digits := otp.MinDigits + rng.IntN(3)
		counter := rng.Uint64N(1 << 40)
		out, err := exec.Command("oathtool", "--hotp", "-d", strconv.Itoa(digits), "-c", strconv.FormatUint(counter, 10), hex.EncodeToString(secret)).Output()
		require.NoError(t, err)
		key, err := otp.NewKey(secret, otp.Params{Algorithm: otp.SHA1, Digits: digits, Period: 30})
		require.NoError(t, err)
		assert.Equal(t, strings.TrimSpace(string(out)), code(t, key, counter), "case %d: counter %d, %d digits", i, counter, digits)
	}
}

// TestLookAheadFindsTheLowest: of two counters in the window with the same
// code, the lower is the match; a code past the window is not.
func TestLookAheadFindsTheLowest(t *testing.T) {
	// Find a secret whose codes repeat within 100 counters: a 6-digit code
	// does so for about one secret in 200.
	var (
		key         otp.Key
		first, next uint64
	)
	for s := uint64(0); next == 0; s++ {
		secret := binary.BigEndian.AppendUint64(make([]byte, 12), s)
		k, err := otp.NewKey(secret, otp.DefaultParams)
		require.NoError(t, err)
		seen := map[string]uint64{}
		for c := uint64(0); c <= otp.MaxLookAhead; c++ {
			v := code(t, k, c)
			if at, ok := seen[v]; ok {
				key, first, next = k, at, c
				break
			}
			seen[v] = c
		}
	}
	m, err := key.VerifyCounter(code(t, key, next), 0, otp.MaxLookAhead)
	require.NoError(t, err)
	assert.Equal(t, otp.Match{Valid: true, Step: first, Drift: int64(first)}, m, "the lowest of %d and %d", first, next)

	key, err = otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	tests := []struct {
		name      string
		token     string
		counter   uint64
		lookAhead int
		want      otp.Match
	}{
		{"at the counter", rfc4226[4], 4, 0, otp.Match{Valid: true, Step: 4}},
		{"at the window's end", rfc4226[7], 4, 3, otp.Match{Valid: true, Step: 7, Drift: 3}},
		{"one past the window", rfc4226[8], 4, 3, otp.Match{}},
		{"below the counter", rfc4226[3], 4, 10, otp.Match{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := key.VerifyCounter(tt.token, tt.counter, tt.lookAhead)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err = key.VerifyCounter(rfc4226[0], 0, otp.MaxLookAhead+1)
	assert.ErrorIs(t, err, otp.ErrInvalidLookAhead)
	got, err := key.VerifyCounter(code(t, key, ^uint64(0)), ^uint64(0)-1, 10)
	require.NoError(t, err)
	assert.Equal(t, otp.Match{Valid: true, Step: ^uint64(0), Drift: 1}, got, "the window stops at the last counter")
}

func TestResync(t *testing.T) {
	key, err := otp.NewKey([]byte("12345678901234567890"), otp.DefaultParams)
	require.NoError(t, err)
	const n = 1000
	tests := []struct {
		name          string
		token, token2 uint64 // counters of the two codes sent
		lookAhead     int
		want          otp.Match
	}{
		{"two in a row, 500 presses on", n + 500, n + 501, 1000, otp.Match{Valid: true, Step: n + 501, Drift: 501}},
		{"the first code at the window's end", n + 100, n + 101, 100, otp.Match{Valid: true, Step: n + 101, Drift: 101}},
		{"the first code past the window", n + 101, n + 102, 100, otp.Match{}},
		{"not in a row", n + 50, n + 52, 100, otp.Match{}},
		{"in the wrong order", n + 51, n + 50, 100, otp.Match{}},
		{"the same code twice", n + 50, n + 50, 100, otp.Match{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := key.Resync(code(t, key, tt.token), code(t, key, tt.token2), n, tt.lookAhead)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err = key.Resync(rfc4226[0], rfc4226[1], 0, otp.MaxResyncLookAhead+1)
	assert.ErrorIs(t, err, otp.ErrInvalidLookAhead)
	m, err := key.Resync(rfc4226[0], "12", 0, 10)
	require.NoError(t, err)
	assert.True(t, m.Malformed)
}

// TestAsymmetricWindows: each side of the window to its edge, and never
// below step 0.
func TestAsymmetricWindows(t *testing.T) {
	key, err := otp.NewKey(rfcSeeds[otp.SHA1], otp.DefaultParams)
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	step := otp.DefaultParams.Step(now)
	tests := []struct {
		name   string
		offset int64
		window otp.Window
		valid  bool
	}{
		{"past only: the current step", 0, otp.Window{Past: 2}, true},
		{"past only: two back", -2, otp.Window{Past: 2}, true},
		{"past only: three back", -3, otp.Window{Past: 2}, false},
		{"past only: one ahead", 1, otp.Window{Past: 2}, false},
		{"future only: three ahead", 3, otp.Window{Future: 3}, true},
		{"future only: one back", -1, otp.Window{Future: 3}, false},
		{"both sides at ten", -10, otp.Window{Past: 10, Future: 1}, true},
		{"zero window: now only", 0, otp.Window{}, true},
		{"zero window: one back", -1, otp.Window{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := key.Verify(code(t, key, uint64(int64(step)+tt.offset)), now, tt.window)
			require.NoError(t, err)
			assert.Equal(t, tt.valid, got.Valid)
			if tt.valid {
				assert.Equal(t, tt.offset, got.Drift)
			}
		})
	}
	got, err := key.Verify(code(t, key, ^uint64(0)), time.Unix(5, 0), otp.Window{Past: 10})
	require.NoError(t, err)
	if code(t, key, ^uint64(0)) != code(t, key, 0) {
		assert.False(t, got.Valid, "step 0 has no step before it")
	}
}

func TestParseWindow(t *testing.T) {
	ptr := func(n int) *int { return &n }
	tests := []struct {
		name               string
		skew, past, future *int
		want               otp.Window
		wantErr            error
		wantField          string
	}{
		{"default", nil, nil, nil, otp.Window{Past: 1, Future: 1}, nil, ""},
		{"skew", ptr(3), nil, nil, otp.Window{Past: 3, Future: 3}, nil, ""},
		{"past only", nil, ptr(2), nil, otp.Window{Past: 2}, nil, ""},
		{"both sides", nil, ptr(2), ptr(1), otp.Window{Past: 2, Future: 1}, nil, ""},
		{"skew and a side", ptr(1), ptr(2), nil, otp.Window{}, otp.ErrSkewAndSides, "skew"},
		{"skew 11", ptr(11), nil, nil, otp.Window{}, otp.ErrInvalidSkew, "skew"},
		{"past 11", nil, ptr(11), nil, otp.Window{}, otp.ErrInvalidSkew, "skew_past"},
		{"future negative", nil, nil, ptr(-1), otp.Window{}, otp.ErrInvalidSkew, "skew_future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := otp.ParseWindow(tt.skew, tt.past, tt.future)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.wantField, fieldOf(err))
			assert.Equal(t, tt.want, got)
		})
	}
}

// steamCode is Steam Guard's algorithm written out from its description,
// sharing no code with pquerna: RFC 4226's dynamic truncation of
// HMAC-SHA1, then five characters of Steam's alphabet, least significant
// first.
func steamCode(secret []byte, counter uint64) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write(binary.BigEndian.AppendUint64(nil, counter))
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0xf
	v := binary.BigEndian.Uint32(sum[offset:]) & 0x7fffffff
	const alphabet = "23456789BCDFGHJKMNPQRTVWXY"
	var b strings.Builder
	for range 5 {
		b.WriteByte(alphabet[v%26])
		v /= 26
	}
	return b.String()
}

func TestSteam(t *testing.T) {
	p, err := otp.ParseParams("", "steam", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 5, p.Digits)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		secret := make([]byte, 20)
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		key, err := otp.NewKey(secret, p)
		require.NoError(t, err)
		at := time.Unix(rng.Int64N(1<<32), 0)
		got, err := key.Generate(at)
		require.NoError(t, err)
		want := steamCode(secret, p.Step(at))
		assert.Equal(t, want, got.Token)
		m, err := key.Verify(strings.ToLower(want), at, sym(0))
		require.NoError(t, err)
		assert.True(t, m.Valid, "Steam codes are typed in either case")
	}
	key, err := otp.NewKey(rfcSeeds[otp.SHA1], p)
	require.NoError(t, err)
	m, err := key.Verify("AAAAA", time.Unix(0, 0), sym(0)) // A is not in Steam's alphabet
	require.NoError(t, err)
	assert.True(t, m.Malformed)
	_, err = otp.ParseParams("", "steam", func(n int) *int { return &n }(6), nil)
	assert.ErrorIs(t, err, otp.ErrSteamDigits)

	uri, err := otp.KeyURI("gamer", "Steam", rfcSeeds[otp.SHA1], p, nil)
	require.NoError(t, err)
	k, err := potp.NewKeyFromURL(uri)
	require.NoError(t, err)
	assert.Equal(t, potp.EncoderSteam, k.Encoder(), "pquerna reads the encoder back")
}

func TestHOTPKeyURI(t *testing.T) {
	counter := uint64(42)
	uri, err := otp.KeyURI("alice@example.com", "Acme", []byte("12345678901234567890"), otp.DefaultParams, &counter)
	require.NoError(t, err)
	assert.Equal(t, "otpauth://hotp/Acme:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme&algorithm=SHA1&digits=6&counter=42", uri)
	k, err := potp.NewKeyFromURL(uri)
	require.NoError(t, err)
	assert.Equal(t, "hotp", k.Type())
	assert.Equal(t, "alice@example.com", k.AccountName())
}
