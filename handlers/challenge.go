package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/fault"
)

// issueChallenge answers POST /challenge.
//
//	@Summary		Issue an email or SMS code
//	@ID				issueChallenge
//	@Description	Without `channel`: returns a random `code` to deliver to `subject` by your own mailer or SMS gateway, and an opaque `challenge` (AES-256-GCM over subject, purpose, expiry and code) to hand to the client. With `channel` (`email`, `sms` or `webhook`, as configured): the service sends the code to `subject` itself and answers the challenge without it, with the masked destination. Nothing is stored but the send counts: at most CHALLENGE_MAX_SENDS (5) codes to one destination in 10 minutes.
//	@Tags			challenges
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.ChallengeRequest	true	"subject, purpose, digits and ttl; channel and locale to have the service send it"
//	@Success		200		{object}	api.ChallengeResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON or option, or a subject the channel cannot take"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		429		{object}	api.Problem	"too many codes sent to this destination; see Retry-After"
//	@Header			429		{integer}	Retry-After	"seconds before the destination takes another code"
//	@Failure		501		{object}	api.Problem	"a channel this instance has no provider for"
//	@Failure		502		{object}	api.Problem	"the provider refused the message (provider_code)"
//	@Failure		503		{object}	api.Problem	"the provider or the guard store could not be reached"
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
	if req.Channel == "" {
		if req.Locale != "" {
			return badRequest(api.CodeConflictingField, "locale", "locale goes with channel only")
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
	channel, err := delivery.ParseChannel(req.Channel)
	if err != nil {
		return err
	}
	r.Channel = string(channel)
	iss, err := s.issueAndSend(c, r, req.Locale)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, challengeAnswer(iss, s.now()))
}

// issueAndSend issues r's challenge and sends its code the way r.Channel
// names, once the destination has been checked and the send counted.
func (s *server) issueAndSend(c *gin.Context, r challenge.Request, locale string) (sent, error) {
	channel := delivery.Channel(r.Channel)
	to, err := s.delivery.Destination(channel, r.Subject)
	switch {
	case err != nil:
		return sent{}, err
	case to != r.Subject:
		// The challenge binds the subject the caller will verify with, so
		// it must be the destination as written: one E.164 form.
		return sent{}, delivery.ErrInvalidPhone
	case strings.ContainsFunc(r.Purpose, unicode.IsControl):
		return sent{}, badRequest(api.CodeInvalidParameter, "purpose", "purpose must not hold a line break or another control character when the service sends the code")
	}
	if err := delivery.CheckLocale(locale); err != nil {
		return sent{}, err
	}
	iss, err := s.challenges.Issue(r)
	if err != nil {
		return sent{}, err
	}
	s.metrics.countChallengeIssued()
	return s.send(c, iss, locale)
}

// sent is a challenge whose code went out.
type sent struct {
	challenge.Issued
	receipt delivery.Receipt
	to      string // masked
}

// send counts and delivers is's code.
func (s *server) send(c *gin.Context, is challenge.Issued, locale string) (sent, error) {
	ctx := c.Request.Context()
	channel := delivery.Channel(is.Channel)
	if err := s.challenges.CountSend(ctx, keyName(c), is.Subject, delivery.Prefix(channel, is.Subject), is); err != nil {
		return sent{}, err
	}
	masked := delivery.Mask(channel, is.Subject)
	start := time.Now()
	receipt, err := s.delivery.Send(ctx, delivery.Message{Channel: channel, To: is.Subject, Code: is.Code, Purpose: is.Purpose, Locale: locale, ExpiresAt: is.ExpiresAt})
	took := time.Since(start)
	result := "sent"
	switch {
	case errors.Is(err, delivery.ErrRefused):
		result = "failed"
	case err != nil:
		result = "unavailable"
	}
	s.metrics.countDelivery(string(channel), result, took)
	attrs := []any{"channel", channel, "to", masked, "challenge_id", is.ID, "result", result, "ms", took.Milliseconds(), "request_id", requestIDOf(c)}
	if err != nil {
		s.log.WarnContext(ctx, "code not delivered", append(attrs, "err", err.Error())...)
		return sent{}, err
	}
	s.log.InfoContext(ctx, "code delivered", append(attrs, "provider_id", receipt.ID)...)
	return sent{Issued: is, receipt: receipt, to: masked}, nil
}

// challengeAnswer is the answer to a challenge the service sent: no code.
func challengeAnswer(is sent, now time.Time) api.ChallengeResponse {
	return api.ChallengeResponse{
		Challenge: is.Challenge,
		ExpiresIn: max(int(is.ExpiresAt.Sub(now)/time.Second), 0),
		ExpiresAt: is.ExpiresAt.UTC().Format(time.RFC3339),
		Delivery:  &api.Delivery{Channel: is.Channel, To: is.to, Status: "sent", ID: is.receipt.ID},
	}
}

// resendChallenge answers POST /challenge/resend.
//
//	@Summary		Send a challenge's code again
//	@ID				resendChallenge
//	@Description	Sends the same code of a challenge the service sent, the same way, to the same destination: opened from the challenge, nothing stored. At most once per CHALLENGE_RESEND_COOLDOWN (30 s) per challenge, and within the destination's CHALLENGE_MAX_SENDS (5) codes in 10 minutes, which new challenges count too.
//	@Tags			challenges
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.ChallengeResendRequest	true	"challenge, subject and purpose, as issued"
//	@Success		200		{object}	api.ChallengeResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, or a challenge that cannot be sent again"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		429		{object}	api.Problem	"sent again too soon, or too many codes to this destination; see Retry-After"
//	@Header			429		{integer}	Retry-After	"seconds before it may be sent again"
//	@Failure		501		{object}	api.Problem	"the challenge's channel is no longer configured"
//	@Failure		502		{object}	api.Problem	"the provider refused the message (provider_code)"
//	@Failure		503		{object}	api.Problem	"the provider or the guard store could not be reached"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/challenge/resend [post]
func (s *server) resendChallenge(c *gin.Context) error {
	var req api.ChallengeResendRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.Challenge == "":
		return missing("challenge")
	case req.Subject == "":
		return missing("subject")
	}
	if err := delivery.CheckLocale(req.Locale); err != nil {
		return err
	}
	is, err := s.challenges.Reopen(req.Challenge, req.Subject, req.Purpose)
	if err != nil {
		return err
	}
	// The channel may have gone, or SMS_COUNTRIES changed, since the
	// challenge was issued.
	if _, err := s.delivery.Destination(delivery.Channel(is.Channel), is.Subject); err != nil {
		return err
	}
	out, err := s.send(c, is, req.Locale)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, challengeAnswer(out, s.now()))
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
	s.subjectLockEvent(c, res, req.Subject)
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
