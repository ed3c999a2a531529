package events_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/delivery"
	"github.com/acme/totp/events"
)

var secret = []byte("events-webhook-secret-1")

func TestEventsReachASignatureCheckingReceiver(t *testing.T) {
	got := make(chan events.Event, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !delivery.Verify(secret, body, r.Header.Get(delivery.SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e events.Event
		require.NoError(t, json.Unmarshal(body, &e))
		got <- e
	}))
	defer srv.Close()
	at := time.Unix(1_700_000_000, 0).UTC()
	s, err := events.New(events.Options{URL: srv.URL, Secret: secret, Now: func() time.Time { return at }})
	require.NoError(t, err)
	s.Emit(events.Event{Type: events.SecretLocked, Key: "login", Context: "user-42", SecretFingerprint: "fp", RetryAfter: 300, Locks: 1})
	select {
	case e := <-got:
		assert.Equal(t, events.Event{Type: events.SecretLocked, Time: at, Key: "login", Context: "user-42", SecretFingerprint: "fp", RetryAfter: 300, Locks: 1}, e)
	case <-time.After(2 * time.Second):
		t.Fatal("no event within 2 s")
	}
	s.Close(time.Second)
	s.Emit(events.Event{Type: events.SecretLocked}) // after Close: nothing, and no panic
	assert.Equal(t, uint64(1), s.Sent())
}

// TestAFullQueueDropsTheNewest: with the receiver stuck, Emit never
// waits, and what the queue cannot hold is dropped and counted.
func TestAFullQueueDropsTheNewest(t *testing.T) {
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck }))
	defer srv.Close()
	defer close(stuck)
	s, err := events.New(events.Options{URL: srv.URL, Secret: secret, Queue: 3, PostTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	for range 50 {
		s.Emit(events.Event{Type: events.SecretLocked})
	}
	assert.Less(t, time.Since(start), 50*time.Millisecond, "Emit never waits for the receiver")
	assert.GreaterOrEqual(t, s.Dropped(), uint64(46), "one in flight and three queued at most")
	var none *events.Sink
	none.Emit(events.Event{Type: events.SecretLocked})
	assert.Zero(t, none.Dropped())
}
