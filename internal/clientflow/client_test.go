package clientflow_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/access"
	"github.com/acme/totp/client"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/internal/apitest"
)

// startService serves the real router until the test ends.
func startService(tb testing.TB, now time.Time, apiKeys ...string) *httptest.Server {
	tb.Helper()
	srv := newService(now, apiKeys...)
	tb.Cleanup(srv.Close)
	return srv
}

// newService serves the real router, on a fixed clock, as main wires it.
func newService(now time.Time, apiKeys ...string) *httptest.Server {
	gin.SetMode(gin.ReleaseMode)
	cfg := apitest.Config(func() time.Time { return now }, io.Discard)
	if len(apiKeys) > 0 {
		keys, err := access.ParseList(strings.Join(apiKeys, ","))
		if err != nil {
			panic(err)
		}
		cfg.Keys = access.NewRing(keys)
	}
	return httptest.NewServer(apitest.New(cfg))
}

func TestEveryEndpoint(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	srv := startService(t, now)
	c, err := client.New(srv.URL, client.WithHTTPClient(srv.Client()), client.WithTimeout(5*time.Second))
	require.NoError(t, err)
	ctx := context.Background()

	health, err := c.Health(ctx)
	require.NoError(t, err)
	assert.Equal(t, api.HealthResponse{Status: "ok", Version: "test"}, *health)

	// Every query parameter of SecretQuery is one the service knows.
	sec, err := c.GenerateSecret(ctx, api.SecretQuery{Length: 32, Encoding: "hex", Account: "a@b.c", Issuer: "Acme", Algorithm: "SHA256", Digits: 8, Period: 60, QR: 64})
	require.NoError(t, err)
	assert.Equal(t, 32, sec.Length)
	assert.Contains(t, sec.URI, "algorithm=SHA256&digits=8&period=60")
	assert.True(t, strings.HasPrefix(sec.QR, "data:image/png;base64,"))

	sec, err = c.GenerateSecret(ctx, api.SecretQuery{})
	require.NoError(t, err)
	tok, err := c.GenerateToken(ctx, api.TokenRequest{SecretForm: api.Clear(sec.Secret)})
	require.NoError(t, err)
	assert.Len(t, tok.Token, 6)

	res, err := c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear(sec.Secret), Token: api.TokenOf(tok.Token), Skew: client.Int(0)})
	require.NoError(t, err)
	assert.True(t, res.Valid)
	require.NotNil(t, res.Step)
	assert.Equal(t, tok.Step, *res.Step)
	res, err = c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear(sec.Secret), Token: api.TokenOf(tok.Token)})
	require.NoError(t, err)
	assert.Equal(t, "replayed", res.Reason)

	img, err := c.QR(ctx, api.QRRequest{SecretForm: api.Clear(sec.Secret), Account: "a@b.c", Size: client.Int(128)})
	require.NoError(t, err)
	decoded, err := png.Decode(bytes.NewReader(img))
	require.NoError(t, err)
	assert.Equal(t, 128, decoded.Bounds().Dx())

	iss, err := c.IssueChallenge(ctx, api.ChallengeRequest{Subject: "a@b.c", Purpose: "login"})
	require.NoError(t, err)
	cv, err := c.VerifyChallenge(ctx, api.ChallengeVerifyRequest{Challenge: iss.Challenge, Code: api.TokenOf(iss.Code), Subject: "a@b.c", Purpose: "login"})
	require.NoError(t, err)
	assert.True(t, cv.Valid)

	rc, err := c.GenerateRecoveryCodes(ctx, api.RecoveryCodesRequest{Count: client.Int(2)})
	require.NoError(t, err)
	rv, err := c.VerifyRecoveryCode(ctx, api.RecoveryVerifyRequest{Code: rc.Codes[1], Hashes: rc.Hashes})
	require.NoError(t, err)
	require.True(t, rv.Valid)
	assert.Equal(t, 1, *rv.Index)

	// A hardware token: enrol with a counter, verify, resynchronise.
	hs, err := c.GenerateSecret(ctx, api.SecretQuery{Account: "token-7", Type: "hotp", Counter: 0})
	require.NoError(t, err)
	assert.Contains(t, hs.URI, "otpauth://hotp/")
	counter := func(n uint64) *uint64 { return &n }
	ht, err := c.HOTPToken(ctx, api.HOTPTokenRequest{Secret: hs.Secret, Counter: counter(3)})
	require.NoError(t, err)
	hv, err := c.HOTPVerify(ctx, api.HOTPVerifyRequest{Secret: hs.Secret, Token: api.TokenOf(ht.Token), Counter: counter(0)})
	require.NoError(t, err)
	require.True(t, hv.Valid)
	assert.Equal(t, uint64(4), *hv.NextCounter)
	t50, err := c.HOTPToken(ctx, api.HOTPTokenRequest{Secret: hs.Secret, Counter: counter(50)})
	require.NoError(t, err)
	t51, err := c.HOTPToken(ctx, api.HOTPTokenRequest{Secret: hs.Secret, Counter: counter(51)})
	require.NoError(t, err)
	hr, err := c.HOTPResync(ctx, api.HOTPResyncRequest{Secret: hs.Secret, Token: api.TokenOf(t50.Token), Token2: api.TokenOf(t51.Token), Counter: counter(4)})
	require.NoError(t, err)
	require.True(t, hr.Valid)
	assert.Equal(t, uint64(52), *hr.NextCounter)
}

func TestErrors(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	srv := startService(t, now)
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	ctx := context.Background()

	_, err = c.GenerateToken(ctx, api.TokenRequest{SecretForm: api.Clear("not base32!")})
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusBadRequest, e.Status)
	assert.Equal(t, "invalid_secret", e.Code)
	assert.Equal(t, "secret", e.Field)
	assert.NotEmpty(t, e.Detail)
	assert.True(t, client.IsCode(err, "invalid_secret"))

	_, err = c.GenerateToken(ctx, api.TokenRequest{SecretForm: api.Clear("JBSWY3DPEHPK3PXP"), TOTPOptions: api.TOTPOptions{Digits: client.Int(9)}})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "digits", e.Field)

	for range 5 {
		_, err := c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear("JBSWY3DPEHPK3PXP"), Token: api.TokenOf("000000")})
		require.NoError(t, err)
	}
	_, err = c.VerifyToken(ctx, api.VerifyRequest{SecretForm: api.Clear("JBSWY3DPEHPK3PXP"), Token: api.TokenOf("000000")})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusTooManyRequests, e.Status)
	assert.Equal(t, "too_many_attempts", e.Code)
	assert.Equal(t, 5*time.Minute, e.RetryAfter)
}

const siblingKey = "sibling-key-of-thirty-two-bytes!"

func TestAPIKey(t *testing.T) {
	srv := startService(t, time.Unix(1_700_000_000, 0), siblingKey)
	ctx := context.Background()

	without, err := client.New(srv.URL)
	require.NoError(t, err)
	_, err = without.GenerateSecret(ctx, api.SecretQuery{})
	assert.True(t, client.IsCode(err, "unauthorized"), "%v", err)

	with, err := client.New(srv.URL, client.WithAPIKey(siblingKey))
	require.NoError(t, err)
	_, err = with.GenerateSecret(ctx, api.SecretQuery{})
	assert.NoError(t, err)
}

// TestSealAndReseal: a secret stored in the clear is migrated with Seal,
// then gives the same codes sealed; Reseal under the same key leaves it.
func TestSealAndReseal(t *testing.T) {
	srv := startService(t, time.Unix(1_700_000_000, 0))
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	ctx := context.Background()
	sealed, err := c.Seal(ctx, api.SealRequest{Secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", Context: "u1", TOTPOptions: api.TOTPOptions{Digits: client.Int(8)}})
	require.NoError(t, err)
	assert.Equal(t, []string{"nonstandard_digits"}, sealed.Warnings)
	plain, err := c.GenerateToken(ctx, api.TokenRequest{SecretForm: api.Clear("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), TOTPOptions: api.TOTPOptions{Digits: client.Int(8)}})
	require.NoError(t, err)
	opened, err := c.GenerateToken(ctx, api.TokenRequest{SecretForm: api.SealedBy(sealed.Sealed, "u1")})
	require.NoError(t, err)
	assert.Equal(t, plain, opened)

	again, err := c.Reseal(ctx, api.ResealRequest{Sealed: sealed.Sealed, Context: "u1"})
	require.NoError(t, err)
	assert.Equal(t, api.ResealResponse{Sealed: sealed.Sealed, KeyID: sealed.KeyID}, *again)

	_, err = c.Reseal(ctx, api.ResealRequest{Sealed: sealed.Sealed, Context: "u2"})
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, api.CodeInvalidSealed, e.Code)
	assert.Equal(t, "sealed", e.Field)
	_, err = c.Reseal(ctx, api.ResealRequest{Sealed: sealed.Sealed})
	require.ErrorAs(t, err, &e)
	assert.Equal(t, api.CodeMissingField, e.Code, "a seal needs its context")
	assert.Equal(t, "context", e.Field)
}
