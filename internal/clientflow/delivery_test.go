package clientflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/internal/apitest"
)

// TestChallengeTheServiceSends: through the client, a challenge the
// service sends by webhook comes without its code; a resend within the
// cooldown is a *client.Error with too_many_sends and its wait; the code
// the gateway got verifies.
func TestChallengeTheServiceSends(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	now := time.Unix(1_700_000_000, 0)
	codes := make(chan string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m delivery.WebhookMessage
		body, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(body, &m))
		codes <- m.Code
	}))
	defer hook.Close()
	d, err := delivery.New(delivery.Options{WebhookURL: hook.URL, WebhookSecret: []byte("webhook-secret-of-the-test"), Now: func() time.Time { return now }})
	require.NoError(t, err)
	cfg := apitest.Config(func() time.Time { return now }, io.Discard)
	cfg.Delivery = d
	srv := httptest.NewServer(apitest.New(cfg))
	defer srv.Close()
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	ctx := context.Background()

	iss, err := c.IssueChallenge(ctx, api.ChallengeRequest{Subject: "user-42", Purpose: "login", Channel: api.ChannelWebhook})
	require.NoError(t, err)
	assert.Empty(t, iss.Code)
	require.NotNil(t, iss.Delivery)
	assert.Equal(t, "sent", iss.Delivery.Status)
	code := <-codes

	_, err = c.Resend(ctx, api.ChallengeResendRequest{Challenge: iss.Challenge, Subject: "user-42", Purpose: "login"})
	var e *client.Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, api.CodeTooManySends, e.Code)
	assert.Equal(t, 30*time.Second, e.RetryAfter)

	res, err := c.VerifyChallenge(ctx, api.ChallengeVerifyRequest{Challenge: iss.Challenge, Code: api.TokenOf(code), Subject: "user-42", Purpose: "login"})
	require.NoError(t, err)
	assert.True(t, res.Valid)
}
