package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/delivery"
	"github.com/acme/totp/fault"
)

// The email OTP service's codes: 6 digits for 10 minutes, for one purpose.
const (
	otpPurpose = "2fa"
	otpDigits  = 6
	otpTTL     = challenge.DefaultTTL
)

// requestOTP answers POST /2fa/requestotp, the email OTP service's route.
//
//	@Summary		Email a code (the email OTP service's route)
//	@ID				requestOTP
//	@Description	As the email OTP service answered it: emails a 6-digit code to `email` and answers a `token` that checks it for 10 minutes, with POST /2fa/verifyotp. The API key comes as the `project_key` header (with the challenge and verify scopes) and its name as `project_name`. `metaData` is accepted; only its deviceName and timeZone are logged.
//	@Tags			original routes
//	@Accept			json
//	@Produce		json
//	@Param			project_key		header		string			false	"an API key with the challenge and verify scopes (when keys are configured)"
//	@Param			project_name	header		string			false	"that key's name, as written"
//	@Param			request			body		api.OTPRequest	true	"email and metaData"
//	@Success		200				{object}	api.OTPResponse
//	@Failure		400				{object}	api.Problem	"invalid JSON, or not one email address"
//	@Failure		401				{object}	api.Problem	"project_key missing or wrong, or project_name not its name"
//	@Failure		413				{object}	api.Problem	"body over 64 KiB"
//	@Failure		429				{object}	api.Problem	"too many codes sent to this address; see Retry-After"
//	@Header			429				{integer}	Retry-After	"seconds before the address takes another code"
//	@Failure		501				{object}	api.Problem	"no SMTP_URL"
//	@Failure		502				{object}	api.Problem	"the mail server refused the message (provider_code)"
//	@Failure		503				{object}	api.Problem	"the mail server or the guard store could not be reached"
//	@Failure		415				{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/2fa/requestotp [post]
func (s *server) requestOTP(c *gin.Context) error {
	var req api.OTPRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Email == "" {
		return missing("email")
	}
	if device, zone := metaString(req.MetaData, "deviceName"), metaString(req.MetaData, "timeZone"); device != "" || zone != "" {
		s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "email otp requested",
			slog.String("device_name", device), slog.String("time_zone", zone), slog.String("request_id", requestIDOf(c)))
	}
	is, err := s.issueAndSend(c, challenge.Request{Subject: req.Email, Purpose: otpPurpose, Digits: otpDigits, TTL: otpTTL,
		Channel: string(delivery.Email), Bearer: true}, "")
	if f := fault.From(err); f != nil && f.Field == "subject" {
		return f.At("email") // this route's body names it so
	}
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.OTPResponse{Token: is.Challenge})
}

// metaString is metaData's string member name, cut to 64 bytes for the log.
func metaString(meta map[string]any, name string) string {
	v, _ := meta[name].(string)
	if len(v) > 64 {
		v = v[:64]
	}
	return v
}

// errOTPLocked answers every code for an address locked by its wrong ones.
var errOTPLocked = fault.New(fault.Throttled, api.CodeTooManyAttempts, "", "too many wrong codes for this address")

// errInvalidOTP answers a code that does not check, saying why.
var errInvalidOTP = fault.New(fault.Invalid, api.CodeInvalidOTP, "otp", "does not check")

// verifyOTP answers POST /2fa/verifyotp, the email OTP service's route.
//
//	@Summary		Check an emailed code (the email OTP service's route)
//	@ID				verifyOTP
//	@Description	As the email OTP service answered it: `{"valid": true}` for the right code of a token from POST /2fa/requestotp, used once; a problem otherwise (`invalid_otp`, whose detail says mismatch, expired, replayed or invalid token; `too_many_attempts` once the address is locked).
//	@Tags			original routes
//	@Accept			json
//	@Produce		json
//	@Param			project_key		header		string					false	"an API key with the challenge and verify scopes (when keys are configured)"
//	@Param			project_name	header		string					false	"that key's name, as written"
//	@Param			request			body		api.OTPVerifyRequest	true	"token and otp"
//	@Success		200				{object}	api.OTPVerifyResponse
//	@Failure		400				{object}	api.Problem	"invalid JSON, or a code that does not check"
//	@Failure		401				{object}	api.Problem	"project_key missing or wrong, or project_name not its name"
//	@Failure		413				{object}	api.Problem	"body over 64 KiB"
//	@Failure		429				{object}	api.Problem	"too many wrong codes for this address; see Retry-After"
//	@Failure		503				{object}	api.Problem	"guard store unreachable, or the guard is off"
//	@Failure		415				{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/2fa/verifyotp [post]
func (s *server) verifyOTP(c *gin.Context) error {
	var req api.OTPVerifyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.Token == "":
		return missing("token")
	case req.OTP.IsZero():
		return missing("otp")
	}
	res, err := s.challenges.Verify(c.Request.Context(), challenge.Check{
		Challenge: req.Token, Code: req.OTP.String(), Numeric: req.OTP.IsNumber(),
		Purpose: otpPurpose, Bearer: true, Owner: keyName(c),
	})
	s.metrics.countChallengeVerification(res.Reason, err, keyName(c))
	s.subjectLockEvent(c, res, "")
	switch {
	case err != nil:
		return err
	case res.Reason == challenge.TooManyAttempts && res.RetryAfter > 0:
		return errOTPLocked.Wait(res.RetryAfter).Explain(fmt.Sprintf("retry in %d seconds", fault.Seconds(res.RetryAfter)))
	case res.Reason == challenge.InvalidChallenge:
		return errInvalidOTP.At("token").Explain("the token does not open")
	case res.Reason != "":
		return errInvalidOTP.Explain(fmt.Sprintf("the code is %s", res.Reason))
	}
	return reply(c, http.StatusOK, api.OTPVerifyResponse{Valid: true})
}
