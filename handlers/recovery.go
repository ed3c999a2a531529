package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/events"
	"github.com/acme/totp/recovery"
)

// generateRecoveryCodes answers POST /generate/recovery-codes.
//
//	@Summary		Generate recovery codes
//	@ID				generateRecoveryCodes
//	@Description	Returns `count` single-use codes (80 random bits each, Crockford base32, grouped for typing) to show the user once, and their SHA-256 `hashes` to store instead.
//	@Tags			recovery codes
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.RecoveryCodesRequest	false	"count"
//	@Success		200		{object}	api.RecoveryCodesResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON or count"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/generate/recovery-codes [post]
func (s *server) generateRecoveryCodes(c *gin.Context) error {
	var req api.RecoveryCodesRequest
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	count := recovery.DefaultCount
	if req.Count != nil {
		count = *req.Count
	}
	codes, hashes, err := s.recovery.Generate(s.random, count)
	if err != nil {
		return err
	}
	s.metrics.countRecoveryGenerated(len(codes))
	return reply(c, http.StatusOK, api.RecoveryCodesResponse{Codes: codes, Hashes: hashes})
}

// verifyRecoveryCode answers POST /verify/recovery-code.
//
//	@Summary		Verify a recovery code
//	@ID				verifyRecoveryCode
//	@Description	Checks a typed code against the stored hashes (at most 20), in constant time. When valid, delete the hash at `index`. Failures are throttled per hash set, like TOTP failures.
//	@Tags			recovery codes
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.RecoveryVerifyRequest	true	"code and hashes"
//	@Success		200		{object}	api.RecoveryVerifyResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, or a malformed hash (field names its index)"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429		{object}	api.Problem	"too many failed attempts for this set; see Retry-After"
//	@Header			429			{integer}	Retry-After	"seconds before the secret (or set) takes attempts again"
//	@Failure		503		{object}	api.Problem	"guard store unreachable"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/verify/recovery-code [post]
func (s *server) verifyRecoveryCode(c *gin.Context) error {
	var req api.RecoveryVerifyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Code == "" {
		return missing("code")
	}
	res, err := s.recovery.Verify(c.Request.Context(), keyName(c), req.Code, req.Hashes)
	s.metrics.countRecoveryVerification(res.Reason, err, keyName(c))
	if err != nil {
		return err
	}
	resp := api.RecoveryVerifyResponse{Valid: res.Valid, Reason: string(res.Reason)}
	if res.Valid {
		resp.Index = &res.Index
		// A recovery code stands in for the second factor: the user, or
		// someone with their password, is in. Worth a word at once.
		s.events.Emit(events.Event{Type: events.RecoveryCodeUsed, Key: keyName(c)})
	}
	return reply(c, http.StatusOK, resp)
}
