package trust_test

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/seal"
	"github.com/acme/totp/trust"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

var key = seal.Key{ID: "k1", Secret: bytes.Repeat([]byte{5}, seal.KeyLen)}

func service(t *testing.T, c *clock) *trust.Service {
	t.Helper()
	s, err := trust.New(trust.Options{Keys: []seal.Key{key}, Now: c.Now})
	require.NoError(t, err)
	return s
}

func TestIssueVerifyRefresh(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := service(t, c)
	tok, err := s.Issue("user-42", "d-1", 3, 0)
	require.NoError(t, err)
	assert.Equal(t, c.t.Add(trust.DefaultTTL), tok.ExpiresAt, "30 days by default")

	tests := []struct {
		name, subject, device string
		epoch                 uint64
		want                  string
	}{
		{"right", "user-42", "d-1", 3, ""},
		{"another user", "user-43", "d-1", 3, trust.WrongSubject},
		{"another device", "user-42", "d-2", 3, trust.WrongDevice},
		{"signed out everywhere", "user-42", "d-1", 4, trust.Revoked},
		{"an older epoch", "user-42", "d-1", 2, trust.Revoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Verify(tok.Text, tt.subject, tt.device, tt.epoch)
			require.NoError(t, err)
			assert.Equal(t, tt.want == "", r.Valid)
			assert.Equal(t, tt.want, r.Reason)
		})
	}

	c.t = c.t.Add(29 * 24 * time.Hour)
	r, err := s.Verify(tok.Text, "user-42", "d-1", 3)
	require.NoError(t, err)
	require.True(t, r.Valid, "a day before it expires")
	assert.Equal(t, c.t.Add(trust.DefaultTTL), r.Token.ExpiresAt, "refreshed: 30 days from now")

	c.t = c.t.Add(2 * 24 * time.Hour)
	r, err = s.Verify(tok.Text, "user-42", "d-1", 3)
	require.NoError(t, err)
	assert.Equal(t, trust.Expired, r.Reason, "the old token expired on its day")
	r, err = s.Verify(r.Token.Text, "user-42", "d-1", 3)
	require.NoError(t, err)
	assert.Equal(t, trust.InvalidToken, r.Reason, "an expired check gives no token")
}

// TestMaxAge: refreshed every day, a token still ends 90 days after its
// first issue; a shorter MaxAge ends it sooner.
func TestMaxAge(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	first := c.t
	s := service(t, c)
	tok, err := s.Issue("u", "d", 0, 0)
	require.NoError(t, err)
	text := tok.Text
	for day := 1; ; day++ {
		c.t = first.Add(time.Duration(day) * 24 * time.Hour)
		r, err := s.Verify(text, "u", "d", 0)
		require.NoError(t, err)
		if !r.Valid {
			assert.Equal(t, trust.Expired, r.Reason)
			assert.Equal(t, 90, day, "the day the maximum age ends")
			break
		}
		assert.False(t, r.Token.ExpiresAt.After(first.Add(trust.DefaultMaxAge)))
		text = r.Token.Text
	}
	short, err := trust.New(trust.Options{Keys: []seal.Key{key}, Now: c.Now, MaxAge: 7 * 24 * time.Hour})
	require.NoError(t, err)
	tok, err = short.Issue("u", "d", 0, 0)
	require.NoError(t, err)
	assert.Equal(t, c.t.Add(7*24*time.Hour), tok.ExpiresAt, "TRUST_MAX_AGE caps the first ttl too")
}

func TestBounds(t *testing.T) {
	s := service(t, &clock{t: time.Unix(1_700_000_000, 0)})
	for name, try := range map[string]func() error{
		"no subject":      func() error { _, err := s.Issue("", "d", 0, 0); return err },
		"a long subject":  func() error { _, err := s.Issue(string(make([]byte, 321)), "d", 0, 0); return err },
		"no device":       func() error { _, err := s.Issue("u", "", 0, 0); return err },
		"a long device":   func() error { _, err := s.Issue("u", string(make([]byte, 129)), 0, 0); return err },
		"a ttl too short": func() error { _, err := s.Issue("u", "d", 0, time.Minute); return err },
		"a ttl too long":  func() error { _, err := s.Issue("u", "d", 0, 91*24*time.Hour); return err },
	} {
		assert.Error(t, try(), name)
	}
	_, err := trust.New(trust.Options{})
	assert.Error(t, err, "no keys: no service")
}

// TestEveryChangedByte: a token changed anywhere is invalid_token.
func TestEveryChangedByte(t *testing.T) {
	s := service(t, &clock{t: time.Unix(1_700_000_000, 0)})
	tok, err := s.Issue("u", "d", 0, 0)
	require.NoError(t, err)
	for i := range len(tok.Text) {
		b := []byte(tok.Text)
		b[i] ^= 0x01
		r, err := s.Verify(string(b), "u", "d", 0)
		require.NoError(t, err)
		assert.False(t, r.Valid, "byte %d", i)
	}
	for _, text := range []string{"", "t1", "t1.k1.", "t1.k1.!!!", tok.Text + "A", tok.Text[:len(tok.Text)-1]} {
		r, err := s.Verify(text, "u", "d", 0)
		require.NoError(t, err)
		assert.Equal(t, trust.InvalidToken, r.Reason, "%q", text)
	}
}

// TestLabelsNeverCross: with the very same key and ID, a trust token is
// not a challenge nor a sealed secret, and neither of them is a token.
func TestLabelsNeverCross(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := service(t, c)
	tok, err := s.Issue("u", "d", 0, 0)
	require.NoError(t, err)
	challenges, err := challenge.New(challenge.Options{Keys: []seal.Key{key}, Now: c.Now, Random: rand.Reader})
	require.NoError(t, err)
	iss, err := challenges.Issue(challenge.Request{Subject: "u", Digits: 6, TTL: time.Minute})
	require.NoError(t, err)
	sealer, err := otp.NewSealer([]seal.Key{key}, otp.SealerOptions{ContextOptional: true})
	require.NoError(t, err)
	sealedSecret, _, err := sealer.Seal([]byte("12345678901234567890"), otp.DefaultParams, "")
	require.NoError(t, err)

	for _, text := range []string{iss.Challenge, sealedSecret} {
		r, err := s.Verify(text, "u", "d", 0)
		require.NoError(t, err)
		assert.Equal(t, trust.InvalidToken, r.Reason)
	}
	_, _, _, err = sealer.Open(tok.Text, "")
	assert.ErrorIs(t, err, otp.ErrInvalidSealed, "a token is not a sealed secret")
	_, err = challenges.Reopen(tok.Text, "u", "")
	assert.ErrorIs(t, err, challenge.ErrNotResendable, "nor a challenge")
}
