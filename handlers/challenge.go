package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/recovery"
)

// issueChallenge answers POST /challenge.
//
//	@Summary		Issue an email or SMS code
//	@ID				issueChallenge
//	@Description	Returns a random `code` to deliver to `subject` by your own mailer or SMS gateway, and an opaque `challenge` (AES-256-GCM over subject, purpose, expiry and code) to hand to the client. Nothing is stored.
//	@Tags			challenges
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.ChallengeRequest	true	"subject, purpose, digits and ttl"
//	@Success		200		{object}	api.ChallengeResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON or option"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/challenge [post]
func (s *server) issueChallenge(c *gin.Context) error {
	var req api.ChallengeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Subject == "" {
		return missing("subject")
	}
	r := challenge.Request{Subject: req.Subject, Purpose: req.Purpose, Digits: challenge.DefaultDigits, TTL: challenge.DefaultTTL}
	if req.Digits != nil {
		r.Digits = *req.Digits
	}
	if req.TTL != nil {
		// Range-check in seconds, before a huge number could overflow.
		if *req.TTL < int(challenge.MinTTL/time.Second) || *req.TTL > int(challenge.MaxTTL/time.Second) {
			return challenge.ErrInvalidTTL
		}
		r.TTL = time.Duration(*req.TTL) * time.Second
	}
	iss, err := s.challenges.Issue(r)
	if err != nil {
		return err
	}
	s.metrics.countChallengeIssued()
	return reply(c, http.StatusOK, api.ChallengeResponse{
		Challenge: iss.Challenge,
		Code:      iss.Code,
		ExpiresIn: int(r.TTL / time.Second),
		ExpiresAt: iss.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// verifyChallenge answers POST /challenge/verify.
//
//	@Summary		Verify an email or SMS code
//	@ID				verifyChallenge
//	@Description	Checks the code a user typed against its challenge, for the same subject and purpose. A challenge verifies once; after too many wrong codes it is dead. Every wrong answer is a 200 with `valid: false` and a `reason`.
//	@Tags			challenges
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.ChallengeVerifyRequest	true	"challenge, code, subject and purpose"
//	@Success		200		{object}	api.ChallengeVerifyResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON or missing field"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		503		{object}	api.Problem	"guard store unreachable, or the guard is off"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/challenge/verify [post]
func (s *server) verifyChallenge(c *gin.Context) error {
	var req api.ChallengeVerifyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.Challenge == "":
		return missing("challenge")
	case req.Code.IsZero():
		return missing("code")
	case req.Subject == "":
		return missing("subject")
	}
	res, err := s.challenges.Verify(c.Request.Context(), challenge.Check{
		Challenge: req.Challenge,
		Code:      req.Code.String(),
		Numeric:   req.Code.IsNumber(),
		Subject:   req.Subject,
		Purpose:   req.Purpose,
		Owner:     keyName(c),
	})
	s.metrics.countChallengeVerification(res.Reason, err, keyName(c))
	if err != nil {
		return err
	}
	if res.RetryAfter > 0 {
		// The subject is locked: every challenge of it waits this long.
		c.Header("Retry-After", strconv.Itoa(fault.Seconds(res.RetryAfter)))
	}
	resp := api.ChallengeVerifyResponse{Valid: res.Reason == "", Reason: string(res.Reason)}
	if resp.Valid {
		resp.Subject, resp.Purpose = req.Subject, req.Purpose
	}
	return reply(c, http.StatusOK, resp)
}

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
	}
	return reply(c, http.StatusOK, resp)
}
