package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/otp"
)

// seal seals secret and p bound to context, counting the outcome.
func (s *server) seal(secret []byte, p otp.Params, context string) (text, keyID string, err error) {
	if s.sealer == nil {
		return "", "", otp.ErrSealingOff
	}
	text, keyID, err = s.sealer.Seal(secret, p, context)
	if err == nil {
		s.metrics.countSeal("seal", resultOK)
	}
	return text, keyID, err
}

// open opens a sealed secret, counting the outcome.
func (s *server) open(text, context string) ([]byte, otp.Params, string, error) {
	if s.sealer == nil {
		return nil, otp.Params{}, "", otp.ErrSealingOff
	}
	raw, p, keyID, err := s.sealer.Open(text, context)
	if err != nil {
		s.metrics.countSeal("open", resultInvalid)
		return nil, p, "", err
	}
	s.metrics.countSeal("open", resultOK)
	return raw, p, keyID, nil
}

// sealSecret answers POST /seal.
//
//	@Summary		Seal a secret held in the clear
//	@ID				sealSecret
//	@Description	Seals a secret (with its options) or an otpauth://totp Key URI, bound to `context`, for migrating secrets already stored in the clear: store `sealed` and `key_id` instead, and send `sealed` (with the same `context`) to /generate/token, /verify/token and /generate/qr. `warnings` name options some authenticator apps ignore.
//	@Tags			sealed secrets
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.SealRequest	true	"secret and its options, or uri; and context"
//	@Success		200		{object}	api.SealResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, secret, uri or option"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		501		{object}	api.Problem	"SEAL_KEYS not configured"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/seal [post]
func (s *server) sealSecret(c *gin.Context) error {
	var req api.SealRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if s.sealer == nil {
		return otp.ErrSealingOff
	}
	src, err := source(c, "", api.SecretForm{Secret: req.Secret, URI: req.URI}, req.TOTPOptions)
	if err != nil {
		return err
	}
	k, err := s.resolve(src)
	if err != nil {
		return err
	}
	text, keyID, err := s.seal(k.Secret(), k.Params, req.Context)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.SealResponse{Sealed: text, KeyID: keyID, Warnings: warnings(k.Params)})
}

// resealSecret answers POST /reseal.
//
//	@Summary		Seal again under the current key
//	@ID				resealSecret
//	@Description	Opens a sealed secret with any configured key and seals it under the first, for rotating SEAL_KEYS: `rotated` is false, and `sealed` comes back unchanged, when it already was under the first key.
//	@Tags			sealed secrets
//	@Accept			json
//	@Produce		json
//	@Param			request	body		api.ResealRequest	true	"sealed and its context"
//	@Success		200		{object}	api.ResealResponse
//	@Failure		400		{object}	api.Problem	"invalid JSON, or sealed does not open (invalid_sealed)"
//	@Failure		401		{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		413		{object}	api.Problem	"body over 64 KiB"
//	@Failure		501		{object}	api.Problem	"SEAL_KEYS not configured"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/reseal [post]
func (s *server) resealSecret(c *gin.Context) error {
	var req api.ResealRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Sealed == "" {
		return missing("sealed")
	}
	raw, p, keyID, err := s.open(req.Sealed, req.Context)
	if err != nil {
		return err
	}
	if keyID == s.sealer.KeyID() {
		return reply(c, http.StatusOK, api.ResealResponse{Sealed: req.Sealed, KeyID: keyID})
	}
	text, keyID, err := s.seal(raw, p, req.Context)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.ResealResponse{Sealed: text, KeyID: keyID, Rotated: true})
}

// warnings are p's compatibility warnings as the API writes them.
func warnings(p otp.Params) []string {
	var w []string
	for _, x := range p.Warnings() {
		w = append(w, string(x))
	}
	return w
}
