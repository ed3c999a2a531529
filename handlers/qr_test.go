package handlers

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/recovery"
	"github.com/acme/totp/seal"
)

// TestQRRenderingIsBounded: with every QR slot taken, a request for a QR
// code is answered at once with 503 busy and Retry-After, while
// verifications go on; when a slot frees, QR codes are drawn again.
func TestQRRenderingIsBounded(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	now := func() time.Time { return time.Unix(1_700_000_000, 0) }
	challenges, err := challenge.New(challenge.Options{Keys: []seal.Key{{ID: "c", Secret: bytes.Repeat([]byte{1}, 32)}}, Now: now, Random: rand.Reader})
	require.NoError(t, err)
	s, err := newServer(Config{Now: now, Random: rand.Reader, Log: slog.New(slog.NewJSONHandler(new(bytes.Buffer), nil)),
		Verifier: guard.New(guard.Options{}), Challenges: challenges, Recovery: recovery.New(recovery.Options{}), QRConcurrency: 2})
	require.NoError(t, err)
	h := s.routes(nil, nil)
	do := func(method, url, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, req)
		return w
	}
	qr := `{"secret":"JBSWY3DPEHPK3PXP","account":"alice"}`

	s.qrSlots <- struct{}{}
	s.qrSlots <- struct{}{} // both slots busy drawing
	for _, req := range []struct{ method, url, body string }{
		{http.MethodPost, "/generate/qr", qr},
		{http.MethodGet, "/generate/secret?account=alice&qr=128", ""},
	} {
		w := do(req.method, req.url, req.body)
		require.Equal(t, http.StatusServiceUnavailable, w.Code, req.url)
		assert.Contains(t, w.Body.String(), `"code":"busy"`)
		assert.Equal(t, "1", w.Header().Get("Retry-After"))
	}
	assert.Equal(t, http.StatusOK, do(http.MethodPost, "/verify/token", `{"secret":"JBSWY3DPEHPK3PXP","token":"000000"}`).Code)
	assert.Equal(t, http.StatusOK, do(http.MethodGet, "/generate/secret?account=alice", "").Code, "no QR asked, none drawn")

	<-s.qrSlots
	assert.Equal(t, http.StatusOK, do(http.MethodPost, "/generate/qr", qr).Code)
	assert.Len(t, s.qrSlots, 1, "the slot is given back")
}
