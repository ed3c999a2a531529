package handlers

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
)

// MaxContextLen bounds a seal's context, in bytes.
const MaxContextLen = 1024

// errSealingOff means a sealed secret was sent to, or asked of, an
// instance started without SEAL_KEYS.
var errSealingOff = fault.New(fault.NotConfigured, api.CodeSealingNotConfigured, "",
	"this instance has no SEAL_KEYS, so it can neither seal nor open secrets; start it with SEAL_KEYS=ID:KEY, KEY being 32 random bytes in base64 (head -c 32 /dev/urandom | base64)")

// secretRef is a secret in one of its three forms, as the TOTP requests
// carry it.
type secretRef struct {
	Secret, Sealed, Context, URI string
}

// secretSource is the secret a request names: in the clear (secret, in
// the body's encoding or else fallback, the query's or the path's), sealed,
// or in a Key URI; and the TOTP options sent beside it.
type secretSource struct {
	secretRef
	opts api.TOTPOptions
	// fallback is the encoding of secret when opts names none;
	// queryEncoding says it came from the query, where it counts as an
	// option beside sealed or uri (the original routes' path does not).
	fallback      string
	queryEncoding bool
}

// imported is a resolved secret: its bytes and options, and, from a Key
// URI, the labels the URI carried.
type imported struct {
	secret []byte
	params otp.Params
	// account and issuer come from a uri's label.
	account, issuer string
}

// resolve returns the secret src names. Exactly one form must be sent;
// beside sealed or uri no option may be, since the seal or the URI
// carries them; context goes with sealed only.
func (s *server) resolve(src secretSource) (imported, error) {
	forms := 0
	for _, f := range []struct{ name, value string }{{"secret", src.Secret}, {"sealed", src.Sealed}, {"uri", src.URI}} {
		if f.value == "" {
			continue
		}
		if forms++; forms > 1 {
			return imported{}, badRequest(api.CodeConflictingField, f.name, "send one of secret, sealed and uri")
		}
	}
	if forms == 0 {
		return imported{}, badRequest(api.CodeMissingField, "secret", "secret, sealed or uri is required")
	}
	if src.Context != "" && src.Sealed == "" {
		return imported{}, badRequest(api.CodeConflictingField, "context", "context goes with sealed only")
	}
	if src.Secret != "" {
		encoding := src.opts.Encoding
		if encoding == "" {
			encoding = src.fallback
		}
		raw, err := otp.DecodeSecret(encoding, src.Secret)
		if err != nil {
			return imported{}, err
		}
		p, err := otp.ParseParams(src.opts.Algorithm, src.opts.Encoder, src.opts.Digits, src.opts.Period)
		return imported{secret: raw, params: p}, err
	}
	form := "sealed"
	if src.URI != "" {
		form = "uri"
	}
	if name := optionSent(src.opts, src.queryEncoding); name != "" {
		return imported{}, badRequest(api.CodeConflictingField, name, name+" cannot come with "+form+", which carries its own")
	}
	if src.URI != "" {
		k, err := otp.ParseKeyURI(src.URI)
		return imported{secret: k.Secret, params: k.Params, account: k.Account, issuer: k.Issuer}, err
	}
	raw, p, _, err := s.open(src.Sealed, src.Context)
	return imported{secret: raw, params: p}, err
}

// optionSent names the first TOTP option o holds, or "".
func optionSent(o api.TOTPOptions, queryEncoding bool) string {
	switch {
	case o.Encoding != "" || queryEncoding:
		return "encoding"
	case o.Algorithm != "":
		return "algorithm"
	case o.Digits != nil:
		return "digits"
	case o.Period != nil:
		return "period"
	case o.Encoder != "":
		return "encoder"
	}
	return ""
}

// seal seals secret and p bound to context, counting the outcome.
func (s *server) seal(secret []byte, p otp.Params, context string) (text, keyID string, err error) {
	if s.sealer == nil {
		return "", "", errSealingOff
	}
	if len(context) > MaxContextLen {
		return "", "", badRequest(api.CodeInvalidParameter, "context", fmt.Sprintf("context must be at most %d bytes", MaxContextLen))
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
		return nil, otp.Params{}, "", errSealingOff
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
		return errSealingOff
	}
	k, err := s.resolve(secretSource{secretRef: secretRef{Secret: req.Secret, URI: req.URI}, opts: req.TOTPOptions})
	if err != nil {
		return err
	}
	text, keyID, err := s.seal(k.secret, k.params, req.Context)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.SealResponse{Sealed: text, KeyID: keyID, Warnings: warnings(k.params)})
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
