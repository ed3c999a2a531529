package handlers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/internal/apitest"
)

// accessLine is what the access line of a request holds.
type accessLine struct {
	Level     string   `json:"level"`
	Msg       string   `json:"msg"`
	Method    string   `json:"method"`
	Route     string   `json:"route"`
	Status    int      `json:"status"`
	LatencyMS *float64 `json:"latency_ms"`
	RequestID string   `json:"request_id"`
	Bytes     int      `json:"bytes"`
	Client    string   `json:"client"`
}

// TestAccessLine: one slog record per request, at a level that follows
// what the request was: probes and scrapes at debug, server errors at
// error, the rest at info; LOG_LEVEL filters them like any other line.
func TestAccessLine(t *testing.T) {
	tests := []struct {
		name      string
		logLevel  slog.Level
		method    string
		url       string
		body      string
		wantLevel string // "" when no line is written at logLevel
		wantRoute string
	}{
		{"verification at info", slog.LevelInfo, "POST", "/verify/token", `{"secret":"JBSWY3DPEHPK3PXP","token":"000000"}`, "INFO", "/verify/token"},
		{"bad request at info", slog.LevelInfo, "POST", "/verify/token", `{`, "INFO", "/verify/token"},
		{"unknown path under its own name", slog.LevelInfo, "GET", "/account/alice", "", "INFO", "unmatched"},
		{"health probe at debug", slog.LevelDebug, "GET", "/healthz", "", "DEBUG", "/healthz"},
		{"readiness probe at debug", slog.LevelDebug, "GET", "/readyz", "", "DEBUG", "/readyz"},
		{"metrics scrape at debug", slog.LevelDebug, "GET", "/metrics", "", "DEBUG", "/metrics"},
		{"health probe silent at info", slog.LevelInfo, "GET", "/healthz", "", "", ""},
		{"verification silent at warn", slog.LevelWarn, "POST", "/verify/token", `{"secret":"JBSWY3DPEHPK3PXP","token":"000000"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := newAPI(t, time.Unix(1_700_000_000, 0), func(c *apitest.Options) {
				c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: tt.logLevel}))
			})
			w := a.do(t, tt.method, tt.url, tt.body)
			if tt.wantLevel == "" {
				assert.Empty(t, logs.String())
				return
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			require.Len(t, lines, 1, logs.String())
			var got accessLine
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
			assert.Equal(t, tt.wantLevel, got.Level)
			assert.Equal(t, "request", got.Msg)
			assert.Equal(t, tt.method, got.Method)
			assert.Equal(t, tt.wantRoute, got.Route)
			assert.Equal(t, w.Code, got.Status)
			require.NotNil(t, got.LatencyMS)
			assert.GreaterOrEqual(t, *got.LatencyMS, 0.0)
			assert.Equal(t, w.Header().Get("X-Request-ID"), got.RequestID)
			assert.Equal(t, w.Body.Len(), got.Bytes)
			assert.Equal(t, "192.0.2.1", got.Client, "httptest's peer address")
			assert.NotContains(t, lines[0], "JBSWY3DPEHPK3PXP")
			assert.NotContains(t, lines[0], "alice")
		})
	}
}

// TestServerErrorsLogAtError: an answer of 500 or more is an error line,
// besides the line that says what failed.
func TestServerErrorsLogAtError(t *testing.T) {
	var logs bytes.Buffer
	a := newAPI(t, time.Unix(1_700_000_000, 0), func(c *apitest.Options) {
		c.Store = deadStore{}
		c.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	w := a.do(t, http.MethodPost, "/verify/token", `{"secret":"JBSWY3DPEHPK3PXP","token":"000000"}`)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var got accessLine
		require.NoError(t, json.Unmarshal([]byte(l), &got), l)
		assert.Equal(t, "ERROR", got.Level)
		msgs = append(msgs, got.Msg)
	}
	assert.Equal(t, []string{"request failed", "request"}, msgs)
}

// TestClientAddressIsThePeers: X-Forwarded-For is not trusted, so a caller
// cannot write another address into the log.
func TestClientAddressIsThePeers(t *testing.T) {
	var logs bytes.Buffer
	a := newAPI(t, time.Unix(1_700_000_000, 0), func(c *apitest.Options) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	req := httptest.NewRequest(http.MethodGet, "/generate/secret", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	a.handler.ServeHTTP(httptest.NewRecorder(), req)
	var got accessLine
	require.NoError(t, json.Unmarshal(logs.Bytes(), &got))
	assert.Equal(t, "192.0.2.1", got.Client)
}
