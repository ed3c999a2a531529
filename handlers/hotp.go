package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
)

// hotpKey is the Key the HOTP options describe for secret (in the clear
// only: a sealed secret is TOTP's), once the counter the request must
// carry is there.
func (s *server) hotpKey(c *gin.Context, o api.HOTPOptions, secret string, counter *uint64) (otp.Key, error) {
	switch {
	case counter == nil:
		return otp.Key{}, missing("counter")
	case secret == "":
		return otp.Key{}, missing("secret")
	}
	return s.key(c, "", api.SecretForm{Secret: secret}, api.TOTPOptions{Encoding: o.Encoding, Algorithm: o.Algorithm, Digits: o.Digits, Encoder: o.Encoder})
}

// hotpToken answers POST /hotp/token.
//
//	@Summary		Code of an HOTP counter
//	@ID				hotpToken
//	@Description	Returns the RFC 4226 code of `counter`: what a hardware token shows at its next press when `counter` is its count.
//	@Tags			hotp
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.HOTPTokenRequest	true	"secret, counter and options"
//	@Success		200		{object}	api.HOTPTokenResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/hotp/token [post]
func (s *server) hotpToken(c *gin.Context) error {
	var req api.HOTPTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key, err := s.hotpKey(c, req.HOTPOptions, req.Secret, req.Counter)
	if err != nil {
		return err
	}
	token, err := key.HOTP(*req.Counter)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.HOTPTokenResponse{Token: token, Counter: *req.Counter})
}

// hotpVerify answers POST /hotp/verify.
//
//	@Summary		Verify an HOTP code
//	@ID				hotpVerify
//	@Description	Checks `token` against the counters from `counter` to `counter`+`look_ahead` (default 10) and answers the lowest that matches, and `next_counter` to store. With the guard on, a counter at or below one already accepted for the secret is `replayed`, and failures count towards the secret's lock, as for TOTP.
//	@Tags			hotp
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.HOTPVerifyRequest	true	"secret, token, counter, look_ahead and options"
//	@Success		200		{object}	api.HOTPVerifyResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429		{object}	api.Problem	"too many failed attempts for this secret; see Retry-After"
//	@Header			429			{integer}	Retry-After	"seconds before the secret (or set) takes attempts again"
//	@Failure		503		{object}	api.Problem	"guard store unreachable or full"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/hotp/verify [post]
func (s *server) hotpVerify(c *gin.Context) error {
	var req api.HOTPVerifyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	lookAhead := otp.DefaultLookAhead
	if req.LookAhead != nil {
		lookAhead = *req.LookAhead
	}
	return s.verifyCounter(c, req.HOTPOptions, req.Secret, req.Counter, lookAhead, req.Token, api.Token{}, req.Client)
}

// hotpResync answers POST /hotp/resync.
//
//	@Summary		Resynchronise an HOTP token
//	@ID				hotpResync
//	@Description	Finds the lowest counter from `counter` to `counter`+`look_ahead` (default 100, at most 1000) whose code is `token` and whose next code is `token2`, as privacyIDEA and LinOTP resynchronise a token pressed many times unseen; answers the second code's counter and `next_counter` to store.
//	@Tags			hotp
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.HOTPResyncRequest	true	"secret, two consecutive codes, counter, look_ahead and options"
//	@Success		200		{object}	api.HOTPVerifyResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429		{object}	api.Problem	"too many failed attempts for this secret; see Retry-After"
//	@Header			429			{integer}	Retry-After	"seconds before the secret (or set) takes attempts again"
//	@Failure		503		{object}	api.Problem	"guard store unreachable or full"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/hotp/resync [post]
func (s *server) hotpResync(c *gin.Context) error {
	var req api.HOTPResyncRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Token2.IsZero() && !req.Token.IsZero() {
		return missing("token2")
	}
	lookAhead := otp.DefaultResyncLookAhead
	if req.LookAhead != nil {
		lookAhead = *req.LookAhead
	}
	return s.verifyCounter(c, req.HOTPOptions, req.Secret, req.Counter, lookAhead, req.Token, req.Token2, req.Client)
}

// maxLightCost is the most work a verification may do without waiting
// for a slot: 100 times the cheapest (otp.Key.Cost).
const maxLightCost = 100 * otp.CheapestCost

// verifyCounter checks token (and token2, for a resync) through the guard
// and answers.
func (s *server) verifyCounter(c *gin.Context, o api.HOTPOptions, secret string, counter *uint64, lookAhead int, token, token2 api.Token, client string) error {
	if token.IsZero() {
		return missing("token")
	}
	who, err := caller(c, client)
	if err != nil {
		return err
	}
	key, err := s.hotpKey(c, o, secret, counter)
	if err != nil {
		return err
	}
	// A wide window over a long key costs thousands of HMACs: such
	// verifications wait for a slot, as QR codes do, so a few of them
	// cannot starve every other verification of CPU.
	if key.Cost(lookAhead+2) > maxLightCost {
		select {
		case s.heavySlots <- struct{}{}:
			defer func() { <-s.heavySlots }()
		default:
			return errBusy
		}
	}
	res, err := s.verifier.VerifyCounter(c.Request.Context(), guard.CounterAttempt{
		Caller:    who,
		Now:       s.now(),
		Key:       &key,
		Token:     token.Text(key.Digits),
		Token2:    token2.Text(key.Digits),
		Counter:   *counter,
		LookAhead: lookAhead,
	})
	s.metrics.countVerification(res.Reason, err, who.Owner)
	s.lockEvent(res.Lock, who, "")
	if err != nil {
		return err
	}
	resp := api.HOTPVerifyResponse{Valid: res.Valid, Reason: string(res.Reason)}
	if res.Valid {
		next := res.Step + 1
		resp.Counter, resp.NextCounter = &res.Step, &next
	}
	return reply(c, http.StatusOK, resp)
}
