package guard_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
)

var secret = []byte("12345678901234567890")

func newVerifier(t *testing.T, store guard.Store) *guard.Verifier {
	t.Helper()
	return guard.New(guard.Options{Store: store, Key: []byte("test fingerprint key"), MaxFailures: 3, FailureWindow: 5 * time.Minute})
}

func attempt(t *testing.T, token string, now time.Time) guard.Attempt {
	t.Helper()
	key, err := otp.NewKey(secret, otp.DefaultParams)
	require.NoError(t, err)
	return guard.Attempt{Key: &key, Token: token, Now: now, Window: otp.Window{Past: 1, Future: 1}}
}

func code(t *testing.T, step uint64) string {
	t.Helper()
	key, err := otp.NewKey(secret, otp.DefaultParams)
	require.NoError(t, err)
	c, err := key.HOTP(step)
	require.NoError(t, err)
	return c
}

func TestReplay(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	v := newVerifier(t, guard.NewMemory(0))
	ctx := context.Background()
	now := otp.DefaultParams.Step(c.Now())

	steps := []struct {
		name       string
		step       uint64
		wantValid  bool
		wantReason guard.Reason
	}{
		{"current code", now, true, ""},
		{"the same code again", now, false, guard.Replayed},
		{"the previous step's code", now - 1, false, guard.Replayed},
		{"the next step's code", now + 1, true, ""},
		{"the current code after a later one", now, false, guard.Replayed},
	}
	for _, s := range steps {
		r, err := v.Verify(ctx, attempt(t, code(t, s.step), c.Now()))
		require.NoError(t, err, s.name)
		assert.Equal(t, s.wantValid, r.Valid, s.name)
		assert.Equal(t, s.wantReason, r.Reason, s.name)
	}

	// A used step stays refused for as long as any window could reach it.
	c.Add(time.Duration(otp.MaxSkew) * 30 * time.Second)
	a := attempt(t, code(t, now+1), c.Now())
	a.Window = otp.Window{Past: otp.MaxSkew, Future: otp.MaxSkew}
	r, err := v.Verify(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, r.Reason)
}

func TestAfterStep(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	step := otp.DefaultParams.Step(now)
	for _, store := range []struct {
		name  string
		store guard.Store
	}{{"guard off", nil}, {"guard on", guard.NewMemory(0)}} {
		t.Run(store.name, func(t *testing.T) {
			v := newVerifier(t, store.store)
			tests := []struct {
				name      string
				after     uint64
				wantValid bool
			}{
				{"after an earlier step", step - 1, true},
				{"after this step", step, false},
				{"after a later step", step + 1, false},
			}
			for _, tt := range tests {
				a := attempt(t, code(t, step), now)
				a.AfterStep = &tt.after
				r, err := v.Verify(context.Background(), a)
				require.NoError(t, err)
				assert.Equal(t, tt.wantValid, r.Valid, tt.name)
				if !tt.wantValid {
					assert.Equal(t, guard.Stale, r.Reason, tt.name)
				}
			}
		})
	}
}

func TestGuardOffAllowsReuse(t *testing.T) {
	v := newVerifier(t, nil)
	now := time.Unix(1_700_000_000, 0)
	tok := code(t, otp.DefaultParams.Step(now))
	for range 2 {
		r, err := v.Verify(context.Background(), attempt(t, tok, now))
		require.NoError(t, err)
		assert.True(t, r.Valid)
	}
	for range 10 {
		r, err := v.Verify(context.Background(), attempt(t, "000000", now))
		require.NoError(t, err)
		assert.Equal(t, guard.Mismatch, r.Reason)
	}
}

func TestThrottle(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	v := newVerifier(t, guard.NewMemory(0))
	ctx := context.Background()
	wrong := func() (guard.Result, error) { return v.Verify(ctx, attempt(t, "000000", c.Now())) }
	right := func() (guard.Result, error) {
		return v.Verify(ctx, attempt(t, code(t, otp.DefaultParams.Step(c.Now())), c.Now()))
	}

	// Malformed codes cannot succeed and are not counted.
	for range 10 {
		r, err := v.Verify(ctx, attempt(t, "12", c.Now()))
		require.NoError(t, err)
		assert.Equal(t, guard.Malformed, r.Reason)
	}
	for i := range 3 {
		r, err := wrong()
		require.NoError(t, err, "failure %d", i+1)
		assert.Equal(t, guard.Mismatch, r.Reason)
	}
	c.Add(time.Minute)

	var throttled *fault.Error
	_, err := wrong()
	require.ErrorIs(t, err, guard.ErrThrottled, "the fourth failure inside the window")
	throttled = fault.From(err)
	assert.Equal(t, 4*time.Minute, throttled.RetryAfter)

	_, err = right()
	require.ErrorIs(t, err, guard.ErrThrottled, "a right code does not lift the lock")
	throttled = fault.From(err)
	assert.Equal(t, 4*time.Minute, throttled.RetryAfter)

	c.Add(4 * time.Minute)
	r, err := right()
	require.NoError(t, err)
	assert.True(t, r.Valid, "the window passed")
}

// TestLockIsTheSecrets: failures lock the secret whatever parameters the
// guesses come with, so changing digits or algorithm buys no fresh
// guesses; another deployment key names the secret otherwise.
func TestLockIsTheSecrets(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	store := guard.NewMemory(0)
	v := newVerifier(t, store)
	ctx := context.Background()
	for range 3 {
		_, err := v.Verify(ctx, attempt(t, "000000", c.Now()))
		require.NoError(t, err)
	}
	_, err := v.Verify(ctx, attempt(t, "000000", c.Now()))
	require.Error(t, err)

	key, err := otp.NewKey(secret, otp.Params{Algorithm: otp.SHA256, Digits: 8, Period: 30})
	require.NoError(t, err)
	_, err = v.Verify(ctx, guard.Attempt{Key: &key, Token: "00000000", Now: c.Now(), Window: otp.Window{Past: 1, Future: 1}})
	assert.ErrorIs(t, err, guard.ErrThrottled, "same secret, other parameters: still locked")

	other := guard.New(guard.Options{Store: store, Key: []byte("another key"), MaxFailures: 3})
	r, err := other.Verify(ctx, attempt(t, "000000", c.Now()))
	require.NoError(t, err)
	assert.Equal(t, guard.Mismatch, r.Reason)
}

// TestUsesAreApartByParamsAndKind: a step used with one set of parameters
// does not refuse the other set's code at that step (their codes differ),
// and TOTP steps and HOTP counters of one secret never collide.
func TestUsesAreApartByParamsAndKind(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	v := newVerifier(t, guard.NewMemory(0))
	ctx := context.Background()
	step := otp.DefaultParams.Step(c.Now())
	r, err := v.Verify(ctx, attempt(t, code(t, step), c.Now()))
	require.NoError(t, err)
	require.True(t, r.Valid)

	eight, err := otp.NewKey(secret, otp.Params{Algorithm: otp.SHA1, Digits: 8, Period: 30})
	require.NoError(t, err)
	c8, err := eight.HOTP(step)
	require.NoError(t, err)
	r, err = v.Verify(ctx, guard.Attempt{Key: &eight, Token: c8, Now: c.Now(), Window: otp.Window{Past: 1, Future: 1}})
	require.NoError(t, err)
	assert.True(t, r.Valid, "8 digits at the same step")

	// HOTP counter 5 is accepted though TOTP step ~56 million was used, and
	// then counter 5 and below are replayed for HOTP only.
	key, err := otp.NewKey(secret, otp.DefaultParams)
	require.NoError(t, err)
	h5 := code(t, 5)
	r, err = v.VerifyCounter(ctx, guard.CounterAttempt{Now: c.Now(), Key: &key, Token: h5, Counter: 5, LookAhead: 0})
	require.NoError(t, err)
	assert.True(t, r.Valid)
	r, err = v.VerifyCounter(ctx, guard.CounterAttempt{Now: c.Now(), Key: &key, Token: h5, Counter: 0, LookAhead: 10})
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, r.Reason)
	r, err = v.VerifyCounter(ctx, guard.CounterAttempt{Now: c.Now(), Key: &key, Token: code(t, 3), Counter: 0, LookAhead: 10})
	require.NoError(t, err)
	assert.Equal(t, guard.Replayed, r.Reason, "a lower counter too")
	r, err = v.Verify(ctx, attempt(t, code(t, step+1), c.Now()))
	require.NoError(t, err)
	assert.True(t, r.Valid, "TOTP goes on")
}

// brokenStore fails every call, as an unreachable Redis does.
type brokenStore struct{}

var errBroken = errors.New("connection refused")

func (brokenStore) Apply(context.Context, guard.Op) (guard.Outcome, error) {
	return guard.Outcome{}, errBroken
}
func (brokenStore) Ping(context.Context) error { return errBroken }

func TestFailsClosed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v := newVerifier(t, brokenStore{})
	_, err := v.Verify(context.Background(), attempt(t, code(t, otp.DefaultParams.Step(now)), now))
	assert.ErrorIs(t, err, guard.ErrUnavailable, "a right code is not valid unless recorded")
	_, err = v.Verify(context.Background(), attempt(t, "000000", now))
	assert.ErrorIs(t, err, guard.ErrUnavailable)
	assert.ErrorIs(t, v.Ready(context.Background()), guard.ErrUnavailable)
}

// TestClientLocksItself: with a client named, a remote attacker's wrong
// codes lock only their client of the secret, while the user's device
// keeps its attempts; an attacker rotating clients meets the ceiling over
// all clients, which then locks the secret for everyone.
func TestClientLocksItself(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	v := guard.New(guard.Options{Store: guard.NewMemory(0), Key: []byte("k"), MaxFailures: 3, SecretMaxFailures: 12, FailureWindow: time.Minute})
	ctx := context.Background()
	try := func(client, token string) (guard.Result, error) {
		a := attempt(t, token, c.Now())
		a.Client = client
		return v.Verify(ctx, a)
	}
	for range 3 {
		_, err := try("c1", "000000")
		require.NoError(t, err)
	}
	_, err := try("c1", code(t, otp.DefaultParams.Step(c.Now())))
	require.ErrorIs(t, err, guard.ErrThrottled, "c1 is locked, even for a right code")
	r, err := try("c2", code(t, otp.DefaultParams.Step(c.Now())))
	require.NoError(t, err)
	assert.True(t, r.Valid, "the user's device is not")

	// 25 clients, a wrong code each: the twelfth failure over all clients
	// locks the secret; the rest, and the user, are refused.
	refused := 0
	for i := range 25 {
		_, err := try(fmt.Sprintf("rot%d", i), "000000")
		if errors.Is(err, guard.ErrThrottled) {
			refused++
		}
	}
	assert.Equal(t, 25-(12-3), refused, "the ceiling counts c1's three too")
	_, err = try("c2", code(t, otp.DefaultParams.Step(c.Now())+1))
	assert.ErrorIs(t, err, guard.ErrThrottled)
}

// TestLocksEscalate: each lock of a secret within a day doubles the last.
func TestLocksEscalate(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	v := guard.New(guard.Options{Store: guard.NewMemory(0), Key: []byte("k"), MaxFailures: 2, FailureWindow: 2 * time.Second})
	ctx := context.Background()
	var throttled *fault.Error
	for _, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		for range 2 {
			_, err := v.Verify(ctx, attempt(t, "000000", c.Now()))
			require.NoError(t, err)
		}
		_, err := v.Verify(ctx, attempt(t, "000000", c.Now()))
		require.ErrorIs(t, err, guard.ErrThrottled)
		throttled = fault.From(err)
		assert.Equal(t, want, throttled.RetryAfter)
		c.Add(want)
	}
}
