package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/delivery"
)

const eventsSecret = "events-webhook-secret-e2e"

// receiver collects the events whose signature checks.
type receiver struct {
	mu   sync.Mutex
	got  []map[string]any
	when []time.Time
}

func startReceiver(t *testing.T) (*httptest.Server, *receiver) {
	t.Helper()
	r := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !delivery.Verify([]byte(eventsSecret), body, req.Header.Get(delivery.SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e map[string]any
		if json.Unmarshal(body, &e) == nil {
			r.mu.Lock()
			r.got, r.when = append(r.got, e), append(r.when, time.Now())
			r.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, r
}

// wait returns the first event of kind, and when it came, within limit.
func (r *receiver) wait(t *testing.T, kind string, limit time.Duration) (map[string]any, time.Time) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for i, e := range r.got {
			if e["type"] == kind {
				defer r.mu.Unlock()
				return e, r.when[i]
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event within %v", kind, limit)
	return nil, time.Time{}
}

// TestSecurityEventsAgainstTheBinary: a receiver that checks the
// signature hears of a lock within a second of it, of a subject's
// challenges locked, and of a recovery code used.
func TestSecurityEventsAgainstTheBinary(t *testing.T) {
	srv, r := startReceiver(t)
	base, _, _ := startBinary(t, "EVENTS_WEBHOOK_URL="+srv.URL, "EVENTS_WEBHOOK_SECRET="+eventsSecret, "MAX_FAILURES=2",
		"CHALLENGE_SUBJECT_MAX_FAILURES=2", "CHALLENGE_MIN_DIGITS=6")
	secret := secretN(7001)
	call(t, base+"/verify/token", "", map[string]any{"secret": secret, "token": "000000", "client": "203.0.113.7"})
	call(t, base+"/verify/token", "", map[string]any{"secret": secret, "token": "000001"}) // the second failure locks
	locked := time.Now()
	e, at := r.wait(t, "secret.locked", 2*time.Second)
	assert.Less(t, at.Sub(locked), time.Second, "within a second of the lock")
	assert.EqualValues(t, 300, e["retry_after"])
	assert.EqualValues(t, 1, e["locks"])
	assert.NotEmpty(t, e["secret_fingerprint"])
	assert.NotContains(t, fmt.Sprint(e), secret, "never the secret")

	status, _, ch := call(t, base+"/challenge", "", map[string]any{"subject": "mallory@example.com", "purpose": "login"})
	require.Equal(t, http.StatusOK, status)
	for _, code := range []string{"000000", "000001"} {
		call(t, base+"/challenge/verify", "", map[string]any{"challenge": ch["challenge"], "code": code, "subject": "mallory@example.com", "purpose": "login"})
	}
	e, _ = r.wait(t, "challenge.subject_locked", 2*time.Second)
	assert.Equal(t, "mallory@example.com", e["subject"])
	assert.NotContains(t, fmt.Sprint(e), ch["code"], "never the code")

	status, _, rc := call(t, base+"/generate/recovery-codes", "", map[string]any{"count": 2})
	require.Equal(t, http.StatusOK, status)
	codes, hashes := rc["codes"].([]any), rc["hashes"].([]any)
	status, _, v := call(t, base+"/verify/recovery-code", "", map[string]any{"code": codes[0], "hashes": hashes})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, v["valid"])
	e, _ = r.wait(t, "recovery.code_used", 2*time.Second)
	assert.NotContains(t, fmt.Sprint(e), codes[0], "never the recovery code")
}

// TestDeadReceiverNeverSlowsAVerification: with the receiver down and a
// queue of two, locks on many secrets keep their latency (p99 against the
// same run with no receiver), and the dropped count rises.
func TestDeadReceiverNeverSlowsAVerification(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // nothing listens there now
	p99 := func(base string, from int) time.Duration {
		var took []time.Duration
		for i := range 100 {
			secret := secretN(from + i)
			for range 2 { // the second wrong code locks the secret: an event each
				start := time.Now()
				call(t, base+"/verify/token", "", map[string]any{"secret": secret, "token": "000000"})
				took = append(took, time.Since(start))
			}
		}
		slices.Sort(took)
		return took[len(took)*99/100]
	}
	quiet, _, _ := startBinary(t, "MAX_FAILURES=2")
	without := p99(quiet, 8000)
	loud, _, _ := startBinary(t, "MAX_FAILURES=2", "EVENTS_WEBHOOK_URL="+deadURL, "EVENTS_WEBHOOK_SECRET="+eventsSecret, "EVENTS_QUEUE=2")
	with := p99(loud, 9000)
	t.Logf("p99 of 200 verifications: %v without a receiver, %v with a dead one", without, with)
	assert.Less(t, with, 3*without+5*time.Millisecond, "a dead receiver does not slow verifications")

	resp, err := http.Get(loud + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	scrape, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^totp_events_dropped_total (\d+)`).FindSubmatch(scrape)
	require.NotNil(t, m, "%s", scrape)
	dropped, _ := strconv.Atoi(string(m[1]))
	assert.Greater(t, dropped, 90, "100 locks, a queue of two and one in flight: the rest dropped")
}
