package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/recovery"
)

// ChallengeRequest asks for a code to send by email or SMS.
type ChallengeRequest struct {
	// Subject is whom the code goes to: an email address, a phone number.
	Subject string `json:"subject" example:"user@example.com"`
	// Purpose binds the code to one use, e.g. login or signup.
	Purpose string `json:"purpose,omitempty" example:"login"`
	Digits  *int   `json:"digits,omitempty" minimum:"4" maximum:"10" example:"6"`
	// TTL is the seconds the code stays valid.
	TTL *int `json:"ttl,omitempty" minimum:"30" maximum:"900" example:"600"`
}

// ChallengeResponse is a new code and its sealed challenge.
type ChallengeResponse struct {
	// Challenge is opaque: hand it to the client, which sends it back with
	// the code the user typed.
	Challenge string `json:"challenge" example:"AXq3..."`
	// Code is for the subject only: deliver it by your mailer or SMS gateway.
	Code      string `json:"code" example:"482913"`
	ExpiresIn int    `json:"expires_in" example:"600"`
	ExpiresAt string `json:"expires_at" example:"2026-11-22T18:40:00Z"`
}

// ChallengeVerifyRequest checks the code a user typed.
type ChallengeVerifyRequest struct {
	Challenge string `json:"challenge" example:"AXq3..."`
	// Code is a string, or a number left-padded with zeros.
	Code    Token  `json:"code" swaggertype:"string" example:"482913"`
	Subject string `json:"subject" example:"user@example.com"`
	Purpose string `json:"purpose,omitempty" example:"login"`
}

// ChallengeVerifyResponse says whether the code is right.
type ChallengeVerifyResponse struct {
	Valid bool `json:"valid" example:"true"`
	// Reason says why not: mismatch, expired, replayed, invalid_challenge,
	// wrong_subject (subject or purpose differ), too_many_attempts (the
	// challenge is dead).
	Reason  string `json:"reason,omitempty" enums:"mismatch,malformed,expired,replayed,invalid_challenge,wrong_subject,too_many_attempts" example:""`
	Subject string `json:"subject,omitempty" example:"user@example.com"`
	Purpose string `json:"purpose,omitempty" example:"login"`
}

// RecoveryCodesRequest asks for new recovery codes.
type RecoveryCodesRequest struct {
	Count *int `json:"count,omitempty" minimum:"1" maximum:"20" example:"10"`
}

// RecoveryCodesResponse holds codes to show the user once, and the hashes
// to store instead of them, in the same order.
type RecoveryCodesResponse struct {
	Codes  []string `json:"codes" example:"7KQ2-M4XD-9HRT-PBWC"`
	Hashes []string `json:"hashes" example:"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
}

// RecoveryVerifyRequest checks a typed recovery code against the stored hashes.
type RecoveryVerifyRequest struct {
	// Code as typed: case, spaces and hyphens do not matter.
	Code   string   `json:"code" example:"7kq2 m4xd 9hrt pbwc"`
	Hashes []string `json:"hashes" example:"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`
}

// RecoveryVerifyResponse says whether the code is one of the hashes, and
// which: delete that hash.
type RecoveryVerifyResponse struct {
	Valid  bool   `json:"valid" example:"true"`
	Index  *int   `json:"index,omitempty" example:"3"`
	Reason string `json:"reason,omitempty" enums:"mismatch,malformed,replayed" example:""`
}

// issueChallenge answers POST /challenge.
//
//	@Summary		Issue an email or SMS code
//	@Description	Returns a random `code` to deliver to `subject` by your own mailer or SMS gateway, and an opaque `challenge` (AES-256-GCM over subject, purpose, expiry and code) to hand to the client. Nothing is stored.
//	@Tags			challenges
//	@Accept			json
//	@Produce		json
//	@Param			request	body		ChallengeRequest	true	"subject, purpose, digits and ttl"
//	@Success		200		{object}	ChallengeResponse
//	@Failure		400		{object}	Problem	"invalid JSON or option"
//	@Failure		401		{object}	Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	Problem	"body over 64 KiB"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/challenge [post]
func (s *Server) issueChallenge(c *gin.Context) {
	var req ChallengeRequest
	if prob := decodeJSON(c, &req); prob != nil {
		abort(c, prob)
		return
	}
	if req.Subject == "" {
		abort(c, missing("subject"))
		return
	}
	r := challenge.Request{Subject: req.Subject, Purpose: req.Purpose, Digits: challenge.DefaultDigits, TTL: challenge.DefaultTTL}
	if req.Digits != nil {
		r.Digits = *req.Digits
	}
	if req.TTL != nil {
		// Range-check in seconds, before a huge number could overflow.
		if ttl := time.Duration(*req.TTL) * time.Second; *req.TTL < 0 || ttl < challenge.MinTTL || ttl > challenge.MaxTTL {
			s.fail(c, "ttl", challenge.ErrInvalidTTL)
			return
		}
		r.TTL = time.Duration(*req.TTL) * time.Second
	}
	iss, err := s.Challenges.Issue(r)
	if err != nil {
		s.fail(c, "", err)
		return
	}
	c.PureJSON(http.StatusOK, ChallengeResponse{
		Challenge: iss.Challenge,
		Code:      iss.Code,
		ExpiresIn: int(r.TTL / time.Second),
		ExpiresAt: iss.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// verifyChallenge answers POST /challenge/verify.
//
//	@Summary		Verify an email or SMS code
//	@Description	Checks the code a user typed against its challenge, for the same subject and purpose. A challenge verifies once; after too many wrong codes it is dead. Every wrong answer is a 200 with `valid: false` and a `reason`.
//	@Tags			challenges
//	@Accept			json
//	@Produce		json
//	@Param			request	body		ChallengeVerifyRequest	true	"challenge, code, subject and purpose"
//	@Success		200		{object}	ChallengeVerifyResponse
//	@Failure		400		{object}	Problem	"invalid JSON or missing field"
//	@Failure		401		{object}	Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	Problem	"body over 64 KiB"
//	@Failure		503		{object}	Problem	"guard store unreachable, or the guard is off"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/challenge/verify [post]
func (s *Server) verifyChallenge(c *gin.Context) {
	var req ChallengeVerifyRequest
	if prob := decodeJSON(c, &req); prob != nil {
		abort(c, prob)
		return
	}
	switch {
	case req.Challenge == "":
		abort(c, missing("challenge"))
		return
	case req.Code.IsZero():
		abort(c, missing("code"))
		return
	case req.Subject == "":
		abort(c, missing("subject"))
		return
	}
	reason, err := s.Challenges.Verify(c.Request.Context(), challenge.Check{
		Challenge: req.Challenge,
		Code:      req.Code.text,
		Numeric:   req.Code.number,
		Subject:   req.Subject,
		Purpose:   req.Purpose,
	})
	if err != nil {
		s.fail(c, "", err)
		return
	}
	resp := ChallengeVerifyResponse{Valid: reason == "", Reason: string(reason)}
	if resp.Valid {
		resp.Subject, resp.Purpose = req.Subject, req.Purpose
	}
	c.PureJSON(http.StatusOK, resp)
}

// generateRecoveryCodes answers POST /generate/recovery-codes.
//
//	@Summary		Generate recovery codes
//	@Description	Returns `count` single-use codes (80 random bits each, Crockford base32, grouped for typing) to show the user once, and their SHA-256 `hashes` to store instead.
//	@Tags			recovery codes
//	@Accept			json
//	@Produce		json
//	@Param			request	body		RecoveryCodesRequest	false	"count"
//	@Success		200		{object}	RecoveryCodesResponse
//	@Failure		400		{object}	Problem	"invalid JSON or count"
//	@Failure		401		{object}	Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/generate/recovery-codes [post]
func (s *Server) generateRecoveryCodes(c *gin.Context) {
	var req RecoveryCodesRequest
	if c.Request.ContentLength != 0 {
		if prob := decodeJSON(c, &req); prob != nil {
			abort(c, prob)
			return
		}
	}
	count := recovery.DefaultCount
	if req.Count != nil {
		count = *req.Count
	}
	codes, hashes, err := recovery.Generate(s.Random, count)
	if err != nil {
		s.fail(c, "count", err)
		return
	}
	c.PureJSON(http.StatusOK, RecoveryCodesResponse{Codes: codes, Hashes: hashes})
}

// verifyRecoveryCode answers POST /verify/recovery-code.
//
//	@Summary		Verify a recovery code
//	@Description	Checks a typed code against the stored hashes (at most 20), in constant time. When valid, delete the hash at `index`. Failures are throttled per hash set, like TOTP failures.
//	@Tags			recovery codes
//	@Accept			json
//	@Produce		json
//	@Param			request	body		RecoveryVerifyRequest	true	"code and hashes"
//	@Success		200		{object}	RecoveryVerifyResponse
//	@Failure		400		{object}	Problem	"invalid JSON, or a malformed hash (field names its index)"
//	@Failure		401		{object}	Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429		{object}	Problem	"too many failed attempts for this set; see Retry-After"
//	@Failure		503		{object}	Problem	"guard store unreachable"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/verify/recovery-code [post]
func (s *Server) verifyRecoveryCode(c *gin.Context) {
	var req RecoveryVerifyRequest
	if prob := decodeJSON(c, &req); prob != nil {
		abort(c, prob)
		return
	}
	if req.Code == "" {
		abort(c, missing("code"))
		return
	}
	res, err := s.Recovery.Verify(c.Request.Context(), req.Code, req.Hashes)
	var malformed *recovery.MalformedHashError
	switch {
	case errors.As(err, &malformed):
		field := fmt.Sprintf("hashes[%d]", malformed.Index)
		abort(c, invalidParam(field, "%s must be sha256: and 64 hex digits", field))
		return
	case err != nil:
		s.fail(c, "hashes", err)
		return
	}
	resp := RecoveryVerifyResponse{Valid: res.Valid, Reason: string(res.Reason)}
	if res.Valid {
		resp.Index = &res.Index
	}
	c.PureJSON(http.StatusOK, resp)
}
