package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/internal/apitest"
)

func TestMetrics(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := newAPI(t, now)
	code := currentCode(t, now)
	for _, token := range []string{code, code, "000000", "12"} { // valid, replayed, mismatch, malformed
		a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": token}))
	}
	a.do(t, http.MethodPost, "/verify/token", body(t, map[string]any{"secret": guardSecret, "token": code, "after_step": ^uint64(0) >> 1}))
	a.do(t, http.MethodGet, "/no/such/path", "")
	a.do(t, "PROPFIND", "/verify/token", "")
	iss := decode[api.ChallengeResponse](t, a.do(t, http.MethodPost, "/challenge", `{"subject":"metrics@example.com"}`))
	a.do(t, http.MethodPost, "/challenge/verify", body(t, map[string]any{"challenge": iss.Challenge, "code": iss.Code, "subject": "metrics@example.com"}))
	a.do(t, http.MethodPost, "/generate/recovery-codes", `{"count":3}`)

	w := a.do(t, http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, w.Code)
	scrape := w.Body.String()
	for _, line := range []string{
		`totp_verifications_total{result="valid"} 1`,
		`totp_verifications_total{result="replayed"} 1`,
		`totp_verifications_total{result="mismatch"} 1`,
		`totp_verifications_total{result="malformed"} 1`,
		`totp_verifications_total{result="stale"} 1`,
		`totp_verifications_total{result="throttled"} 0`,
		`http_requests_total{code="200",key="",method="POST",route="/verify/token"} 5`,
		`http_requests_total{code="404",key="",method="GET",route="unmatched"} 1`,
		`http_requests_total{code="405",key="",method="other",route="unmatched"} 1`,
		`http_request_duration_seconds_count{method="POST",route="/verify/token"} 5`,
		`totp_challenges_issued_total 1`,
		`totp_challenge_verifications_total{result="valid"} 1`,
		`totp_recovery_codes_generated_total 3`,
		`totp_build_info{goversion="go`,
		`",version="test"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		assert.Contains(t, scrape, line)
	}
	for _, secret := range []string{guardSecret, code, iss.Code, "metrics@example.com", "/no/such/path"} {
		assert.NotContains(t, scrape, secret)
	}
}

func TestMetricsNeedTheMetricsScope(t *testing.T) {
	a := newAPI(t, time.Now(), func(c *apitest.Options) {
		c.Keys = apitest.Keys(t, "ops metrics "+strings.Repeat("m", 32)+",login verify "+strings.Repeat("v", 32))
	})
	for _, tt := range []struct {
		key  string
		want int
	}{{"", 401}, {strings.Repeat("v", 32), 403}, {strings.Repeat("m", 32), 200}} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("X-API-Key", tt.key)
		w := httptest.NewRecorder()
		a.handler.ServeHTTP(w, req)
		assert.Equal(t, tt.want, w.Code)
	}
}

// TestDeliveryMetrics: deliveries are counted by channel and result, and
// no label or value holds the destination or the code.
func TestDeliveryMetrics(t *testing.T) {
	var code string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m delivery.WebhookMessage
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &m)
		code = m.Code
		if m.To == "refused-subject" {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer hook.Close()
	d, err := delivery.New(delivery.Options{WebhookURL: hook.URL, WebhookSecret: []byte("metrics-webhook-secret")})
	require.NoError(t, err)
	a := newAPI(t, time.Now(), func(c *apitest.Options) { c.Delivery = d })
	w := a.do(t, http.MethodPost, "/challenge", `{"subject":"metrics-subject","channel":"webhook"}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = a.do(t, http.MethodPost, "/challenge", `{"subject":"refused-subject","channel":"webhook"}`)
	require.Equal(t, http.StatusBadGateway, w.Code, w.Body.String())
	scrape := a.do(t, http.MethodGet, "/metrics", "").Body.String()
	assert.Contains(t, scrape, `totp_deliveries_total{channel="webhook",result="sent"} 1`)
	assert.Contains(t, scrape, `totp_deliveries_total{channel="webhook",result="failed"} 1`)
	assert.Contains(t, scrape, `totp_delivery_duration_seconds_count{channel="webhook"} 2`)
	for _, secret := range []string{"metrics-subject", "refused-subject", code} {
		assert.NotContains(t, scrape, secret)
	}
}
