package otp_test

import (
	"encoding/base32"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
)

// RFC 6238 Appendix B seeds: 20, 32 and 64 ASCII bytes.
var rfcSeeds = map[otp.Algorithm][]byte{
	otp.SHA1:   []byte("12345678901234567890"),
	otp.SHA256: []byte("12345678901234567890123456789012"),
	otp.SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
}

// rfcVectors is RFC 6238 Appendix B: 8 digits, 30 s steps.
var rfcVectors = []struct {
	unix int64
	step uint64
	want map[otp.Algorithm]string
}{
	{59, 0x1, map[otp.Algorithm]string{otp.SHA1: "94287082", otp.SHA256: "46119246", otp.SHA512: "90693936"}},
	{1111111109, 0x23523EC, map[otp.Algorithm]string{otp.SHA1: "07081804", otp.SHA256: "68084774", otp.SHA512: "25091201"}},
	{1111111111, 0x23523ED, map[otp.Algorithm]string{otp.SHA1: "14050471", otp.SHA256: "67062674", otp.SHA512: "99943326"}},
	{1234567890, 0x273EF07, map[otp.Algorithm]string{otp.SHA1: "89005924", otp.SHA256: "91819424", otp.SHA512: "93441116"}},
	{2000000000, 0x3F940AA, map[otp.Algorithm]string{otp.SHA1: "69279037", otp.SHA256: "90698825", otp.SHA512: "38618901"}},
	{20000000000, 0x27BC86AA, map[otp.Algorithm]string{otp.SHA1: "65353130", otp.SHA256: "77737706", otp.SHA512: "47863826"}},
}

// sym is the window of skew steps either side.
func sym(skew int) otp.Window { return otp.Window{Past: skew, Future: skew} }

// code is key's HOTP code for counter.
func code(t *testing.T, key otp.Key, counter uint64) string {
	t.Helper()
	c, err := key.HOTP(counter)
	require.NoError(t, err)
	return c
}

// generate is key's code in force at at.
func generate(t *testing.T, key otp.Key, at time.Time) otp.Code {
	t.Helper()
	c, err := key.Generate(at)
	require.NoError(t, err)
	return c
}

func TestGenerateRFC6238(t *testing.T) {
	for _, v := range rfcVectors {
		for _, alg := range otp.Algorithms {
			t.Run(string(alg)+"/"+time.Unix(v.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
				key, err := otp.NewKey(rfcSeeds[alg], otp.Params{Algorithm: alg, Digits: 8, Period: 30})
				require.NoError(t, err)
				got := generate(t, key, time.Unix(v.unix, 0))
				assert.Equal(t, v.want[alg], got.Token)
				assert.Equal(t, v.step, got.Step)

				m, err := key.Verify(v.want[alg], time.Unix(v.unix, 0), sym(0))
				require.NoError(t, err)
				assert.Equal(t, otp.Match{Valid: true, Step: v.step}, m)
			})
		}
	}
}

func TestRemaining(t *testing.T) {
	tests := []struct {
		name   string
		unix   int64
		period int
		want   int
	}{
		{"start of step", 60, 30, 30},
		{"one second in", 61, 30, 29},
		{"last second", 89, 30, 1},
		{"period of one", 1234, 1, 1},
		{"before 1970", -5, 30, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := otp.Params{Algorithm: otp.SHA1, Digits: 6, Period: tt.period}
			assert.Equal(t, tt.want, p.Remaining(time.Unix(tt.unix, 0)))
		})
	}
}

func TestVerifyWindow(t *testing.T) {
	key, err := otp.NewKey(rfcSeeds[otp.SHA1], otp.DefaultParams)
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	step := otp.DefaultParams.Step(now)

	tests := []struct {
		name   string
		offset int64 // steps from now of the code presented
		skew   int
		want   otp.Match
	}{
		{"current step", 0, 1, otp.Match{Valid: true, Step: step, Drift: 0}},
		{"previous step", -1, 1, otp.Match{Valid: true, Step: step - 1, Drift: -1}},
		{"next step", 1, 1, otp.Match{Valid: true, Step: step + 1, Drift: 1}},
		{"two back with skew 1", -2, 1, otp.Match{}},
		{"two back with skew 2", -2, 2, otp.Match{Valid: true, Step: step - 2, Drift: -2}},
		{"previous step with skew 0", -1, 0, otp.Match{}},
		{"ten ahead with skew 10", 10, 10, otp.Match{Valid: true, Step: step + 10, Drift: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := key.Verify(code(t, key, uint64(int64(step)+tt.offset)), now, sym(tt.skew))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestVerifyNeverBelowStepZero(t *testing.T) {
	key, err := otp.NewKey(rfcSeeds[otp.SHA1], otp.DefaultParams)
	require.NoError(t, err)
	// At unix 5 the current step is 0; a skew of 10 must not wrap to 2^64-1.
	wrapped := code(t, key, ^uint64(0))
	got, err := key.Verify(wrapped, time.Unix(5, 0), sym(10))
	require.NoError(t, err)
	if wrapped != code(t, key, 0) {
		assert.False(t, got.Valid)
	}
	got, err = key.Verify(code(t, key, 0), time.Unix(5, 0), sym(10))
	require.NoError(t, err)
	assert.Equal(t, otp.Match{Valid: true, Step: 0, Drift: 0}, got)
	got, err = key.Verify(code(t, key, 10), time.Unix(5, 0), sym(10))
	require.NoError(t, err)
	assert.Equal(t, otp.Match{Valid: true, Step: 10, Drift: 10}, got)
}

// TestBefore1970IsStepZero: pquerna's totp.GenerateCodeCustom turns a time
// before 1970 into a negative float and converts it to uint64, which Go
// leaves to the platform; the wrapper counts such times as step 0.
func TestBefore1970IsStepZero(t *testing.T) {
	key, err := otp.NewKey(rfcSeeds[otp.SHA1], otp.DefaultParams)
	require.NoError(t, err)
	for _, unix := range []int64{-1, -31, -1 << 40} {
		got := generate(t, key, time.Unix(unix, 0))
		assert.Equal(t, uint64(0), got.Step, unix)
		assert.Equal(t, code(t, key, 0), got.Token, unix)
	}
}

func TestVerifyTokenShape(t *testing.T) {
	key, err := otp.NewKey(rfcSeeds[otp.SHA1], otp.DefaultParams)
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	code := generate(t, key, now).Token

	tests := []struct {
		name          string
		give          string
		want          bool
		wantMalformed bool
	}{
		{"exact", code, true, false},
		{"spaces inside", code[:3] + " " + code[3:], true, false},
		{"spaces around", " " + code + " ", true, false},
		{"too short", code[:5], false, true},
		{"too long", code + "0", false, true},
		{"letter", code[:5] + "a", false, true},
		{"empty", "", false, true},
		{"unicode digit", code[:5] + "٣", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := key.Verify(tt.give, now, sym(1))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Valid)
			assert.Equal(t, tt.wantMalformed, got.Malformed)
		})
	}
	_, err = key.Verify(code, now, sym(otp.MaxSkew+1))
	assert.ErrorIs(t, err, otp.ErrInvalidSkew)
}

func TestParams(t *testing.T) {
	tests := []struct {
		name      string
		give      otp.Params
		want      error
		wantField string
	}{
		{"defaults", otp.DefaultParams, nil, ""},
		{"sha512 8 digits 1 hour", otp.Params{Algorithm: otp.SHA512, Digits: 8, Period: 3600}, nil, ""},
		{"5 digits", otp.Params{Algorithm: otp.SHA1, Digits: 5, Period: 30}, otp.ErrInvalidDigits, "digits"},
		{"9 digits", otp.Params{Algorithm: otp.SHA1, Digits: 9, Period: 30}, otp.ErrInvalidDigits, "digits"},
		{"period 0", otp.Params{Algorithm: otp.SHA1, Digits: 6, Period: 0}, otp.ErrInvalidPeriod, "period"},
		{"period 3601", otp.Params{Algorithm: otp.SHA1, Digits: 6, Period: 3601}, otp.ErrInvalidPeriod, "period"},
		{"lower-case algorithm", otp.Params{Algorithm: "sha256", Digits: 6, Period: 30}, otp.ErrUnknownAlgorithm, "algorithm"},
		{"md5", otp.Params{Algorithm: "MD5", Digits: 6, Period: 30}, otp.ErrUnknownAlgorithm, "algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give.Validate()
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, tt.wantField, fieldOf(err))
		})
	}
}

// fieldOf is the field a *fault.Error names, or "".
func fieldOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestParseParams(t *testing.T) {
	ptr := func(n int) *int { return &n }
	tests := []struct {
		name      string
		algorithm string
		digits    *int
		period    *int
		want      otp.Params
		wantErr   error
		wantField string
	}{
		{"all defaults", "", nil, nil, otp.DefaultParams, nil, ""},
		{"all set", "sha-512", ptr(8), ptr(60), otp.Params{Algorithm: otp.SHA512, Digits: 8, Period: 60}, nil, ""},
		{"explicit zero digits is not the default", "", ptr(0), nil, otp.Params{}, otp.ErrInvalidDigits, "digits"},
		{"explicit zero period is not the default", "", nil, ptr(0), otp.Params{}, otp.ErrInvalidPeriod, "period"},
		{"unknown algorithm", "md5", nil, nil, otp.Params{}, otp.ErrUnknownAlgorithm, "algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := otp.ParseParams(tt.algorithm, "", tt.digits, tt.period)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.wantField, fieldOf(err))
			if tt.wantErr == nil {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		give    string
		want    otp.Algorithm
		wantErr error
	}{
		{"", otp.SHA1, nil},
		{"sha1", otp.SHA1, nil},
		{"Sha256", otp.SHA256, nil},
		{"SHA-512", otp.SHA512, nil},
		{"md5", "", otp.ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := otp.ParseAlgorithm(tt.give)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestAgreesWithPquerna is the differential test of the code path: random
// secrets, algorithms, digits, periods and times must give pquerna/otp's
// answer.
func TestAgreesWithPquerna(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	algs := map[otp.Algorithm]potp.Algorithm{otp.SHA1: potp.AlgorithmSHA1, otp.SHA256: potp.AlgorithmSHA256, otp.SHA512: potp.AlgorithmSHA512}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		secret := make([]byte, otp.MinKeyLen+rng.IntN(200)) // past every block size
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		alg := otp.Algorithms[rng.IntN(len(otp.Algorithms))]
		p := otp.Params{Algorithm: alg, Digits: otp.MinDigits + rng.IntN(3), Period: 1 + rng.IntN(otp.MaxPeriod)}
		at := time.Unix(rng.Int64N(1<<35), 0)

		key, err := otp.NewKey(secret, p)
		require.NoError(t, err)
		want, err := totp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(secret), at, totp.ValidateOpts{
			Period: uint(p.Period), Digits: potp.Digits(p.Digits), Algorithm: algs[alg],
		})
		require.NoError(t, err)
		got := generate(t, key, at)
		require.Equal(t, want, got.Token, "case %d: %+v at %d", i, p, at.Unix())

		m, err := key.Verify(want, at, sym(0))
		require.NoError(t, err)
		require.True(t, m.Valid, "case %d", i)

		// A code some steps away matches at its drift.
		skew := 1 + rng.IntN(3)
		drift := rng.IntN(2*skew+1) - skew
		away, err := totp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(secret), at.Add(time.Duration(drift*p.Period)*time.Second), totp.ValidateOpts{
			Period: uint(p.Period), Digits: potp.Digits(p.Digits), Algorithm: algs[alg],
		})
		require.NoError(t, err)
		m, err = key.Verify(away, at, sym(skew))
		require.NoError(t, err)
		// ...unless it ended further back than a window reaches.
		end := time.Unix((int64(key.Step(at))+int64(drift)+1)*int64(p.Period), 0)
		if drift < -1 && at.Sub(end) > otp.MaxPastReach {
			require.False(t, m.Valid && m.Drift == int64(drift), "case %d: drift %d, skew %d, ended %v ago", i, drift, skew, at.Sub(end))
			continue
		}
		require.True(t, m.Valid, "case %d: drift %d, skew %d", i, drift, skew)
		require.Equal(t, int64(drift), m.Drift, "case %d", i)
	}
}

// TestPastReach: however wide the window asked for, a step that ended more
// than MaxPastReach ago (or one step ago, for longer steps) is not
// accepted, which is what lets the guard forget a used step that long
// after it ends.
func TestPastReach(t *testing.T) {
	secret := []byte("12345678901234567890")
	at := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		period int
		drift  int
		want   bool
	}{
		{"30 s steps, 10 back: ended under 5 min ago", 30, -10, true},
		{"60 s steps, 10 back: ended 9 to 10 min ago", 60, -10, true},
		{"120 s steps, 5 back: ended 8 to 10 min ago", 120, -5, true},
		{"120 s steps, 6 back: ended over 10 min ago", 120, -6, false},
		{"3600 s steps, 1 back: the previous step", 3600, -1, true},
		{"3600 s steps, 2 back: ended over an hour ago", 3600, -2, false},
		{"3600 s steps, 1 ahead", 3600, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := otp.NewKey(secret, otp.Params{Algorithm: otp.SHA1, Digits: 6, Period: tt.period})
			require.NoError(t, err)
			code, err := key.HOTP(uint64(int64(key.Step(at)) + int64(tt.drift)))
			require.NoError(t, err)
			m, err := key.Verify(code, at, otp.Window{Past: otp.MaxSkew, Future: otp.MaxSkew})
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.Valid && m.Drift == int64(tt.drift))
		})
	}
}
