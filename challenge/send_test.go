package challenge_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
)

// TestSendLimits: on the service's own clock, a challenge is sent again
// only after the cooldown; a destination gets MaxSends codes a window,
// new challenges and resends alike, and a refused send costs nothing; a
// block of numbers gets PrefixFactor times as many.
func TestSendLimits(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newServiceWith(t, challenge.Options{Store: guard.NewMemory(0), Now: c.Now, Random: rand.Reader,
		ResendCooldown: 30 * time.Second, MaxSends: 3, SendWindow: 10 * time.Minute})
	ctx := context.Background()
	send := func(to string, is challenge.Issued) error { return s.CountSend(ctx, "", to, "", is) }
	first, err := s.Issue(challenge.Request{Subject: "a@example.com", Digits: 6, TTL: 10 * time.Minute, Channel: "email"})
	require.NoError(t, err)
	require.NoError(t, send("a@example.com", first))

	err = send("a@example.com", first)
	require.ErrorIs(t, err, challenge.ErrTooManySends, "again within the cooldown")
	assert.Equal(t, 30*time.Second, fault.From(err).RetryAfter)
	c.t = c.t.Add(31 * time.Second)
	require.NoError(t, send("a@example.com", first), "after it")

	second, err := s.Issue(challenge.Request{Subject: "a@example.com", Digits: 6, TTL: 10 * time.Minute, Channel: "email"})
	require.NoError(t, err)
	require.NoError(t, send("a@example.com", second), "the third send to the address")
	err = send("a@example.com", second)
	require.ErrorIs(t, err, challenge.ErrTooManySends)
	c.t = c.t.Add(31 * time.Second)
	third, err := s.Issue(challenge.Request{Subject: "a@example.com", Digits: 6, TTL: 10 * time.Minute, Channel: "email"})
	require.NoError(t, err)
	err = send("a@example.com", third)
	require.ErrorIs(t, err, challenge.ErrTooManySends, "a new challenge does not get around the cap")
	assert.Greater(t, fault.From(err).RetryAfter, 9*time.Minute)
	require.NoError(t, send("b@example.com", third), "another destination is not affected")

	c.t = c.t.Add(10*time.Minute + time.Second)
	require.NoError(t, send("a@example.com", third), "the window passed")

	// A block of a thousand numbers: 3 x 10 sends, over 30 numbers.
	sent := 0
	for i := range 40 {
		number := fmt.Sprintf("+447400123%03d", i)
		is, err := s.Issue(challenge.Request{Subject: number, Digits: 6, TTL: 10 * time.Minute, Channel: "sms"})
		require.NoError(t, err)
		if s.CountSend(ctx, "", number, "+447400123", is) == nil {
			sent++
		}
	}
	assert.Equal(t, 3*challenge.PrefixFactor, sent, "the block's cap, though each number had one code")
}
