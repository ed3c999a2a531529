package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/events"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/apitest"
)

// TestLockAndBurstEvents: a client's lock, a secret's first lock and its
// escalation, and a burst of wrong API keys are each told once.
func TestLockAndBurstEvents(t *testing.T) {
	var (
		mu  sync.Mutex
		got []events.Event
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e events.Event
		body, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(body, &e))
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer srv.Close()
	sink, err := events.New(events.Options{URL: srv.URL, Secret: []byte("handlers-events-secret")})
	require.NoError(t, err)
	start := time.Unix(1_700_000_000, 0)
	a := newAPI(t, start, func(c *apitest.Options) {
		c.Events = sink
		c.Keys = apitest.Keys(t, "login all "+strings.Repeat("l", 32))
	})
	key := strings.Repeat("l", 32)
	verify := func(body string) {
		req := httptest.NewRequest(http.MethodPost, "/verify/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key)
		a.handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	for range apitest.MaxFailures {
		verify(`{"secret":"` + guardSecret + `","token":"000000","client":"c1"}`)
	}
	for range apitest.MaxFailures {
		verify(`{"secret":"` + guardSecret + `","token":"000000"}`)
	}
	a.advance(apitest.FailureWindow + time.Second)
	for range apitest.MaxFailures {
		verify(`{"secret":"` + guardSecret + `","token":"000000"}`)
	}
	for range 25 {
		req := httptest.NewRequest(http.MethodGet, "/generate/secret", nil)
		req.Header.Set("X-API-Key", strings.Repeat("x", 32))
		a.handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	sink.Close(2 * time.Second)
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{events.ClientLocked, events.SecretLocked, events.SecretLockEscalated, events.AuthKeyRejectedBurst}, types)
	require.Len(t, got, 4)
	assert.Equal(t, "c1", got[0].Client)
	assert.Equal(t, "login", got[1].Key)
	assert.Equal(t, 2, got[2].Locks)
	assert.Equal(t, 2*int(apitest.FailureWindow/time.Second), got[2].RetryAfter, "the second lock doubles")
	assert.Equal(t, "192.0.2.1", got[3].Peer, "httptest's peer")
	for _, e := range got {
		assert.NotContains(t, e.SecretFingerprint, guardSecret)
	}
}

// TestRefusalEvents: a full store and a key past its share are each told,
// once a minute however many requests they refuse.
func TestRefusalEvents(t *testing.T) {
	tests := []struct {
		name   string
		change func(*apitest.Options)
		want   string
	}{
		{"store full", func(c *apitest.Options) { c.Store = guard.NewMemory(1) }, events.GuardStoreFull},
		{"key past its share", func(c *apitest.Options) {
			c.Keys, c.KeyShare = apitest.Keys(t, "login all "+strings.Repeat("l", 32)), 1
		}, events.GuardKeyShareExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var e events.Event
				body, _ := io.ReadAll(r.Body)
				require.NoError(t, json.Unmarshal(body, &e))
				mu.Lock()
				got = append(got, e.Type)
				mu.Unlock()
			}))
			defer srv.Close()
			sink, err := events.New(events.Options{URL: srv.URL, Secret: []byte("handlers-events-secret")})
			require.NoError(t, err)
			a := newAPI(t, time.Unix(1_700_000_000, 0), tt.change, func(c *apitest.Options) { c.Events = sink })
			refused := 0
			for _, body := range distinctSecrets(10) {
				req := httptest.NewRequest(http.MethodPost, "/verify/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", strings.Repeat("l", 32))
				w := httptest.NewRecorder()
				a.handler.ServeHTTP(w, req)
				if w.Code >= 429 {
					refused++
				}
			}
			sink.Close(2 * time.Second)
			assert.GreaterOrEqual(t, refused, 8, "the store or the share refused the rest")
			assert.Equal(t, []string{tt.want}, got, "told once for many refusals")
		})
	}
}
