package challenge_test

import (
	"bytes"
	"context"
	"crypto/rand"
	mathrand "math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/redistest"
	"github.com/acme/totp/seal"
)

var (
	keyA = seal.Key{ID: "a", Secret: bytes.Repeat([]byte{0xa}, seal.KeyLen)}
	keyB = seal.Key{ID: "b", Secret: bytes.Repeat([]byte{0xb}, seal.KeyLen)}
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newService(t *testing.T, c *clock, store guard.Store, keys ...seal.Key) *challenge.Service {
	t.Helper()
	return newServiceWith(t, challenge.Options{Keys: keys, Store: store, Now: c.Now, Random: rand.Reader, MinDigits: challenge.MinDigits})
}

func newServiceWith(t *testing.T, o challenge.Options) *challenge.Service {
	t.Helper()
	s, err := challenge.New(o)
	require.NoError(t, err)
	return s
}

// verify is s.Verify's reason.
func verify(s *challenge.Service, ctx context.Context, c challenge.Check) (guard.Reason, error) {
	res, err := s.Verify(ctx, c)
	return res.Reason, err
}

func issue(t *testing.T, s *challenge.Service) challenge.Issued {
	t.Helper()
	iss, err := s.Issue(challenge.Request{Subject: "user@example.com", Purpose: "login", Digits: 6, TTL: 10 * time.Minute})
	require.NoError(t, err)
	return iss
}

func check(iss challenge.Issued, code string) challenge.Check {
	return challenge.Check{Challenge: iss.Challenge, Code: code, Subject: "user@example.com", Purpose: "login"}
}

func TestIssue(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, c, guard.NewMemory(0), keyA)
	for _, digits := range []int{challenge.MinDigits, 6, challenge.MaxDigits} {
		iss, err := s.Issue(challenge.Request{Subject: "+15550100", Digits: digits, TTL: challenge.MinTTL})
		require.NoError(t, err)
		assert.Regexp(t, regexp.MustCompile(`^[0-9]+$`), iss.Code)
		assert.Len(t, iss.Code, digits)
		assert.Equal(t, c.t.Add(challenge.MinTTL), iss.ExpiresAt)
		assert.NotContains(t, iss.Challenge, iss.Code[:4], "the challenge must not carry the code in the clear")
		assert.NotContains(t, iss.Challenge, "15550100")
	}
	// Codes come from crypto/rand: a thousand 10-digit codes do not repeat.
	seen := map[string]bool{}
	for range 1000 {
		iss, err := s.Issue(challenge.Request{Subject: "a", Digits: 10, TTL: time.Minute})
		require.NoError(t, err)
		assert.False(t, seen[iss.Code])
		seen[iss.Code] = true
	}

	tests := []struct {
		name string
		req  challenge.Request
		want error
	}{
		{"no subject", challenge.Request{Digits: 6, TTL: time.Minute}, challenge.ErrInvalidSubject},
		{"long subject", challenge.Request{Subject: string(bytes.Repeat([]byte("a"), 321)), Digits: 6, TTL: time.Minute}, challenge.ErrInvalidSubject},
		{"long purpose", challenge.Request{Subject: "a", Purpose: string(bytes.Repeat([]byte("p"), 65)), Digits: 6, TTL: time.Minute}, challenge.ErrInvalidPurpose},
		{"3 digits", challenge.Request{Subject: "a", Digits: 3, TTL: time.Minute}, challenge.ErrInvalidDigits},
		{"11 digits", challenge.Request{Subject: "a", Digits: 11, TTL: time.Minute}, challenge.ErrInvalidDigits},
		{"ttl 29 s", challenge.Request{Subject: "a", Digits: 6, TTL: 29 * time.Second}, challenge.ErrInvalidTTL},
		{"ttl 901 s", challenge.Request{Subject: "a", Digits: 6, TTL: 901 * time.Second}, challenge.ErrInvalidTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Issue(tt.req)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestVerify(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, c, guard.NewMemory(0), keyA)
	ctx := context.Background()

	iss := issue(t, s)
	tests := []struct {
		name  string
		check challenge.Check
		want  guard.Reason
	}{
		{"wrong subject", challenge.Check{Challenge: iss.Challenge, Code: iss.Code, Subject: "other@example.com", Purpose: "login"}, challenge.WrongSubject},
		{"wrong purpose", challenge.Check{Challenge: iss.Challenge, Code: iss.Code, Subject: "user@example.com", Purpose: "signup"}, challenge.WrongSubject},
		{"wrong code", check(iss, "000000"), guard.Mismatch},
		{"right code, spaced", check(iss, iss.Code[:3]+" "+iss.Code[3:]), ""},
		{"right code again", check(iss, iss.Code), guard.Replayed},
		{"not a challenge", check(challenge.Issued{Challenge: "hello"}, iss.Code), challenge.InvalidChallenge},
		{"empty challenge", check(challenge.Issued{}, iss.Code), challenge.InvalidChallenge},
	}
	for _, tt := range tests {
		got, err := verify(s, ctx, tt.check)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestExpiry(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, c, guard.NewMemory(0), keyA)
	iss := issue(t, s)
	c.t = iss.ExpiresAt.Add(-time.Second)
	// A wrong code just before expiry, then the right one at expiry.
	got, err := verify(s, context.Background(), check(iss, "000000"))
	require.NoError(t, err)
	assert.Equal(t, guard.Mismatch, got)
	c.t = iss.ExpiresAt
	got, err = verify(s, context.Background(), check(iss, iss.Code))
	require.NoError(t, err)
	assert.Equal(t, challenge.Expired, got)
}

func TestEveryChangedCharacterIsInvalid(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, c, guard.NewMemory(0), keyA)
	iss := issue(t, s)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=\n"
	text := []byte(iss.Challenge)
	for i := range text {
		for _, r := range []byte(alphabet) {
			if r == text[i] {
				continue
			}
			changed := bytes.Clone(text)
			changed[i] = r
			got, err := verify(s, context.Background(), check(challenge.Issued{Challenge: string(changed)}, iss.Code))
			require.NoError(t, err)
			require.Equal(t, challenge.InvalidChallenge, got, "byte %d changed to %q", i, r)
		}
	}
	for n := range len(text) {
		got, err := verify(s, context.Background(), check(challenge.Issued{Challenge: iss.Challenge[:n]}, iss.Code))
		require.NoError(t, err)
		require.Equal(t, challenge.InvalidChallenge, got, "truncated to %d", n)
	}
	got, err := verify(s, context.Background(), check(challenge.Issued{Challenge: iss.Challenge + "A"}, iss.Code))
	require.NoError(t, err)
	assert.Equal(t, challenge.InvalidChallenge, got)
	// The untouched challenge still verifies.
	got, err = verify(s, context.Background(), check(iss, iss.Code))
	require.NoError(t, err)
	assert.Equal(t, guard.Reason(""), got)
}

func TestKeyRotation(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := guard.NewMemory(0)
	old := newService(t, c, store, keyA)
	first, second := issue(t, old), issue(t, old)

	rotated := newService(t, c, store, keyB, keyA)
	got, err := verify(rotated, context.Background(), check(first, first.Code))
	require.NoError(t, err)
	assert.Equal(t, guard.Reason(""), got, "the old key, listed second, still opens")

	fresh := issue(t, rotated)
	got, err = verify(old, context.Background(), check(fresh, fresh.Code))
	require.NoError(t, err)
	assert.Equal(t, challenge.InvalidChallenge, got, "new challenges are sealed with the first key")

	retired := newService(t, c, store, keyB)
	got, err = verify(retired, context.Background(), check(second, second.Code))
	require.NoError(t, err)
	assert.Equal(t, challenge.InvalidChallenge, got, "once the old key is removed")
}

func TestAttemptLimit(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newServiceWith(t, challenge.Options{Keys: []seal.Key{keyA}, Store: guard.NewMemory(0), Now: c.Now, Random: rand.Reader, MaxAttempts: 3})
	iss := issue(t, s)
	ctx := context.Background()
	for i := range 3 {
		got, err := verify(s, ctx, check(iss, "000000"))
		require.NoError(t, err)
		assert.Equal(t, guard.Mismatch, got, "attempt %d", i+1)
	}
	for _, code := range []string{"000000", iss.Code} {
		got, err := verify(s, ctx, check(iss, code))
		require.NoError(t, err)
		assert.Equal(t, challenge.TooManyAttempts, got, "the challenge is dead, whatever code follows")
	}
	other := issue(t, s)
	got, err := verify(s, ctx, check(other, other.Code))
	require.NoError(t, err)
	assert.Equal(t, guard.Reason(""), got, "another challenge is not affected")
}

func TestConcurrentSingleUse(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, c, guard.NewMemory(0), keyA)
	iss := issue(t, s)
	var valid atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			got, err := verify(s, context.Background(), check(iss, iss.Code))
			assert.NoError(t, err)
			if got == "" {
				valid.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), valid.Load())
}

func TestNeedsKeysAndStore(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	_, err := challenge.New(challenge.Options{Now: c.Now, Random: rand.Reader})
	assert.NoError(t, err, "no keys: a random one")
	_, err = challenge.New(challenge.Options{Keys: []seal.Key{{ID: "short", Secret: []byte("short")}}, Now: c.Now, Random: rand.Reader})
	assert.Error(t, err)

	s := newService(t, c, nil, keyA)
	iss := issue(t, s)
	_, err = verify(s, context.Background(), check(iss, iss.Code))
	assert.ErrorIs(t, err, challenge.ErrNoStore)
}

// FuzzVerify: no challenge string, however made, panics, and none but the
// one issued verifies. The random source is seeded, so that every fuzzing
// process issues the same challenge.
func FuzzVerify(f *testing.F) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s, _ := challenge.New(challenge.Options{Keys: []seal.Key{keyA}, Store: guard.NewMemory(0), Now: c.Now, Random: mathrand.NewChaCha8([32]byte{1})})
	iss, _ := s.Issue(challenge.Request{Subject: "a", Digits: 6, TTL: time.Minute})
	f.Add(iss.Challenge, iss.Code)
	f.Add("", "")
	f.Add("AQ", "123456")
	f.Fuzz(func(t *testing.T, text, code string) {
		got, err := verify(s, context.Background(), challenge.Check{Challenge: text, Code: code, Subject: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if got == "" && text != iss.Challenge {
			t.Fatalf("a forged challenge verified: %q", text)
		}
	})
}

// TestSubjectLimitAcrossChallenges: re-issuing a challenge does not give an
// attacker a fresh budget. Wrong codes count per subject and purpose over
// every challenge; past the limit every challenge of the subject, its
// right code included, is too_many_attempts until the lock passes, and
// the next lock is twice as long.
func TestSubjectLimitAcrossChallenges(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newServiceWith(t, challenge.Options{Keys: []seal.Key{keyA}, Store: guard.NewMemory(0), Now: c.Now, Random: rand.Reader, SubjectMaxFailures: 10})
	ctx := context.Background()
	// Two challenges, five wrong codes each: each dies, and the subject
	// reaches its limit.
	for range 2 {
		iss := issue(t, s)
		for range 5 {
			got, err := verify(s, ctx, check(iss, "000000"))
			require.NoError(t, err)
			require.Equal(t, guard.Mismatch, got)
		}
	}
	fresh := issue(t, s)
	res, err := s.Verify(ctx, check(fresh, fresh.Code))
	require.NoError(t, err)
	assert.Equal(t, challenge.TooManyAttempts, res.Reason, "the right code of a new challenge, while the subject is locked")
	assert.Equal(t, challenge.DefaultSubjectWindow, res.RetryAfter)

	other, err := s.Issue(challenge.Request{Subject: "other@example.com", Purpose: "login", Digits: 6, TTL: 10 * time.Minute})
	require.NoError(t, err)
	got, err := verify(s, ctx, challenge.Check{Challenge: other.Challenge, Code: other.Code, Subject: "other@example.com", Purpose: "login"})
	require.NoError(t, err)
	assert.Equal(t, guard.Reason(""), got, "another subject is not locked")

	// The lock passes; ten more wrong codes lock the subject for twice as long.
	c.t = c.t.Add(challenge.DefaultSubjectWindow)
	for range 2 {
		iss := issue(t, s)
		for range 5 {
			_, err := verify(s, ctx, check(iss, "000000"))
			require.NoError(t, err)
		}
	}
	fresh = issue(t, s)
	res, err = s.Verify(ctx, check(fresh, fresh.Code))
	require.NoError(t, err)
	assert.Equal(t, challenge.TooManyAttempts, res.Reason)
	assert.Equal(t, 2*challenge.DefaultSubjectWindow, res.RetryAfter, "the second lock within a day doubles the first")
}

func TestMinDigits(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newServiceWith(t, challenge.Options{Keys: []seal.Key{keyA}, Now: c.Now, Random: rand.Reader})
	_, err := s.Issue(challenge.Request{Subject: "a@example.com", Digits: 4, TTL: time.Minute})
	assert.ErrorIs(t, err, challenge.ErrInvalidDigits, "4 digits need MinDigits lowered")
	_, err = s.Issue(challenge.Request{Subject: "a@example.com", Digits: challenge.DefaultMinDigits, TTL: time.Minute})
	assert.NoError(t, err)
	_, err = challenge.New(challenge.Options{Keys: []seal.Key{keyA}, Now: c.Now, Random: rand.Reader, MinDigits: 3})
	assert.Error(t, err)
}

// TestRecordsOutliveExpiry: a used challenge stays used in Redis past its
// expiry by the clock margin, so an instance whose clock runs behind
// (and so takes the challenge for live) cannot use it again.
func TestRecordsOutliveExpiry(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	store := guard.NewRedis(client, "t:")
	ctx := context.Background()

	ahead := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, ahead, store, keyA)
	iss := issue(t, s)
	ahead.t = iss.ExpiresAt.Add(-time.Second)
	got, err := verify(s, ctx, check(iss, iss.Code))
	require.NoError(t, err)
	require.Equal(t, guard.Reason(""), got)

	// Four minutes pass in Redis; an instance whose clock is four minutes
	// behind still takes the challenge for live.
	require.NoError(t, client.Eval(ctx, `for _, k in ipairs(redis.call('KEYS', 't:*')) do
  local ttl = redis.call('PTTL', k)
  if ttl > 0 then
    if ttl - tonumber(ARGV[1]) <= 0 then redis.call('DEL', k) else redis.call('PEXPIRE', k, ttl - tonumber(ARGV[1])) end
  end
end
return 0`, nil, (4*time.Minute).Milliseconds()).Err())
	behind := &clock{t: iss.ExpiresAt.Add(-time.Second)}
	got, err = verify(newService(t, behind, store, keyA), ctx, check(iss, iss.Code))
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, got)
}
