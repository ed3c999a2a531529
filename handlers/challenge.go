package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
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
