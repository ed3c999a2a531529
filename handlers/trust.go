package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/trust"
)

// issueTrust answers POST /trust.
//
//	@Summary		Remember a device
//	@ID				issueTrust
//	@Description	After the user passed the second factor on a device: a token for that device's cookie, sealed under TRUST_KEYS, binding `subject` (the user's immutable ID), `device` (an ID the cookie keeps), `epoch` (a number you keep per user) and its expiry (`ttl`, 30 days by default, at most 90). Check it with POST /trust/verify; raise the user's epoch to sign out every device. Nothing is stored.
//	@Tags			trusted devices
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.TrustRequest	true	"subject, device, epoch and ttl"
//	@Success		200		{object}	api.TrustResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON or field"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		415		{object}	api.Problem	"a body sent as another type than JSON"
//	@Failure		501		{object}	api.Problem	"no TRUST_KEYS"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/trust [post]
func (s *server) issueTrust(c *gin.Context) error {
	var req api.TrustRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if s.trust == nil {
		return trust.ErrNotConfigured
	}
	var ttl time.Duration
	if req.TTL != nil {
		// Range-check in seconds, before a huge number could overflow.
		if *req.TTL < int(trust.MinTTL/time.Second) || *req.TTL > int(trust.MaxTTL/time.Second) {
			return trust.ErrInvalidTTL
		}
		ttl = time.Duration(*req.TTL) * time.Second
	}
	tok, err := s.trust.Issue(req.Subject, req.Device, req.Epoch, ttl)
	if err != nil {
		return err
	}
	s.metrics.countTrust("issue", resultOK)
	return reply(c, http.StatusOK, api.TrustResponse{Token: tok.Text, ExpiresAt: tok.ExpiresAt.UTC().Format(time.RFC3339)})
}

// verifyTrust answers POST /trust/verify.
//
//	@Summary		Check a remembered device
//	@ID				verifyTrust
//	@Description	Whether a device's token still holds for `subject`, `device` and the user's current `epoch`. When it does, the answer carries it refreshed (a ttl from now, never beyond TRUST_MAX_AGE from the first issue): put it in the cookie instead. Otherwise `valid` is false with a `reason`: expired, wrong_subject, wrong_device, revoked (the epoch moved on) or invalid_token (one answer for every malformed or forged token).
//	@Tags			trusted devices
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.TrustVerifyRequest	true	"token, subject, device and epoch"
//	@Success		200		{object}	api.TrustVerifyResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON or field"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		415		{object}	api.Problem	"a body sent as another type than JSON"
//	@Failure		501		{object}	api.Problem	"no TRUST_KEYS"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/trust/verify [post]
func (s *server) verifyTrust(c *gin.Context) error {
	var req api.TrustVerifyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return missing("token")
	}
	if s.trust == nil {
		return trust.ErrNotConfigured
	}
	r, err := s.trust.Verify(req.Token, req.Subject, req.Device, req.Epoch)
	if err != nil {
		return err
	}
	if !r.Valid {
		s.metrics.countTrust("verify", r.Reason)
		return reply(c, http.StatusOK, api.TrustVerifyResponse{Reason: r.Reason})
	}
	s.metrics.countTrust("verify", resultValid)
	return reply(c, http.StatusOK, api.TrustVerifyResponse{Valid: true, Token: r.Token.Text, ExpiresAt: r.Token.ExpiresAt.UTC().Format(time.RFC3339)})
}
