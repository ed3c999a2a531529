package handlers

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
)

// errBusy means as many costly requests (QR codes, wide HOTP windows over
// long keys) are running as the server allows.
var errBusy = fault.New(fault.Unavailable, api.CodeBusy, "",
	"as many costly requests (QR codes, wide HOTP windows over long keys) are running as this instance allows; retry shortly").Wait(time.Second)

// renderQR draws a QR code unless QRConcurrency others are being drawn:
// the largest takes some 85 ms of CPU, and a few callers asking for many
// at once would otherwise starve every verification of CPU. The caller
// who finds no slot is told to retry (503 busy, Retry-After).
func (s *server) renderQR(uri string, size int, sizeField string) ([]byte, error) {
	select {
	case s.qrSlots <- struct{}{}:
		defer func() { <-s.qrSlots }()
	default:
		return nil, errBusy
	}
	return otp.QR(uri, size, sizeField)
}

// secretParams are the query parameters of GET /generate/secret.
var secretParams = []string{"length", "encoding", "account", "issuer", "algorithm", "digits", "period", "qr", "encoder", "type", "counter", "seal", "context"}

// generateSecret answers GET /generate/secret.
//
//	@Summary		Generate a new random secret
//	@ID				generateSecret
//	@Description	Returns `length` random bytes from crypto/rand, written in `encoding`. With `account` (and optionally `issuer` and the TOTP options) it adds the `otpauth://` Key URI, whose secret is always unpadded base32; with `qr` also a PNG QR code of it as a data URI; with `seal=true` also `sealed` and `key_id`, to store instead of the secret. `warnings` name options some authenticator apps ignore.
//	@Tags			secrets
//	@Produce		json
//	@Param			length		query		int		false	"random bytes"	minimum(16)	maximum(128)	default(20)
//	@Param			encoding	query		string	false	"encoding of the returned secret"	Enums(base32, hex, base64)	default(base32)
//	@Param			account		query		string	false	"account name for the Key URI, e.g. the user's email; no colon"
//	@Param			issuer		query		string	false	"issuer for the Key URI, e.g. your product; no colon"
//	@Param			algorithm	query		string	false	"HMAC algorithm for the Key URI"	Enums(SHA1, SHA256, SHA512)	default(SHA1)
//	@Param			digits		query		int		false	"code length for the Key URI"	minimum(6)	maximum(8)	default(6)
//	@Param			period		query		int		false	"seconds per step for the Key URI"	minimum(1)	maximum(3600)	default(30)
//	@Param			qr			query		int		false	"also return a QR PNG of this many pixels (needs account)"	minimum(64)	maximum(1024)
//	@Param			encoder		query		string	false	"how codes are written: digits, or Steam Guard's 5 characters"	Enums(default, steam)	default(default)
//	@Param			type		query		string	false	"totp, or hotp for a hardware token's Key URI (with counter)"	Enums(totp, hotp)	default(totp)
//	@Param			counter		query		int		false	"the HOTP Key URI's first counter (type=hotp only)"	minimum(0)
//	@Param			seal		query		bool	false	"also return the secret sealed under SEAL_KEYS, to store instead of it"	default(false)
//	@Param			context		query		string	false	"what the seal is bound to, e.g. the user's ID; send it with every use (seal=true only)"	maxlength(1024)
//	@Success		200			{object}	api.SecretResponse
//	@Failure		400			{object}	api.Problem	"invalid parameter"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		501			{object}	api.Problem	"seal=true without SEAL_KEYS"
//	@Failure		503			{object}	api.Problem	"as many QR codes are being drawn as the instance allows; see Retry-After"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/generate/secret [get]
func (s *server) generateSecret(c *gin.Context) error {
	q, err := newQuery(c, secretParams...)
	if err != nil {
		return err
	}
	req := secretRequest{encoding: q.str("encoding"), account: q.str("account"), issuer: q.str("issuer"), algorithm: q.str("algorithm"), encoder: q.str("encoder"), context: q.str("context")}
	switch q.str("seal") {
	case "", "false":
	case "true":
		req.seal = true
	default:
		return badRequest(api.CodeInvalidParameter, "seal", "seal must be true or false")
	}
	if q.values.Has("context") && !req.seal {
		return badRequest(api.CodeConflictingField, "context", "context goes with seal=true only")
	}
	switch q.str("type") {
	case "", "totp":
		if q.values.Has("counter") {
			return badRequest(api.CodeInvalidParameter, "counter", "counter needs type=hotp")
		}
	case "hotp":
		if req.seal {
			// Sealed secrets are TOTP's: the routes that open them are.
			return badRequest(api.CodeConflictingField, "seal", "seal=true goes with TOTP secrets only")
		}
		counter, err := q.uint64("counter")
		if err != nil {
			return err
		}
		req.counter = &counter
	default:
		return badRequest(api.CodeInvalidParameter, "type", "type must be totp or hotp")
	}
	for _, p := range []struct {
		name string
		dst  **int
	}{{"length", &req.length}, {"qr", &req.qrSize}, {"digits", &req.digits}, {"period", &req.period}} {
		if *p.dst, err = q.int(p.name); err != nil {
			return err
		}
	}
	return s.writeSecret(c, req)
}

type secretRequest struct {
	length, qrSize, digits, period *int
	encoding, algorithm, encoder   string
	account, issuer                string
	counter                        *uint64 // an HOTP secret's first counter
	seal                           bool
	context                        string // what the seal is bound to
}

func (s *server) writeSecret(c *gin.Context, req secretRequest) error {
	length := otp.DefaultGenerateLen
	if req.length != nil {
		length = *req.length
	}
	enc, err := otp.ParseEncoding(req.encoding)
	if err != nil {
		return fault.At("encoding", err)
	}
	params, err := otp.ParseParams(req.algorithm, req.encoder, req.digits, req.period)
	if err != nil {
		return err
	}
	if req.account == "" && (req.issuer != "" || req.qrSize != nil) {
		return badRequest(api.CodeMissingField, "account", "account is required with issuer or qr")
	}
	if req.seal && s.sealer == nil {
		return otp.ErrSealingOff
	}

	key, err := otp.GenerateSecret(s.random, length)
	if err != nil {
		return err
	}
	text, err := enc.Encode(key)
	if err != nil {
		return err
	}
	resp := api.SecretResponse{Secret: text, Encoding: string(enc), Length: length}
	if req.account != "" {
		if resp.URI, err = otp.KeyURI(req.account, req.issuer, key, params, req.counter); err != nil {
			return err
		}
	}
	if req.seal {
		if resp.Sealed, resp.KeyID, err = s.seal(key, params, req.context); err != nil {
			return err
		}
	}
	if resp.URI != "" || resp.Sealed != "" {
		// The options matter only where they are carried.
		resp.Warnings = warnings(params)
	}
	if req.qrSize != nil {
		png, err := s.renderQR(resp.URI, *req.qrSize, "qr")
		if err != nil {
			return err
		}
		resp.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	return reply(c, http.StatusOK, resp)
}

// generateToken answers POST /generate/token.
//
//	@Summary		Current code of a secret
//	@ID				generateToken
//	@Description	Returns the code in force now, the seconds before it changes and its RFC 6238 step.
//	@Tags			tokens
//	@Accept			json
//	@Produce		json
//	@Param			request		body		api.TokenRequest	true	"secret and TOTP options, or sealed (and context), or uri"
//	@Param			encoding	query		string			false	"encoding of secret when the body names none"	Enums(base32, hex, base64, ascii)
//	@Success		200			{object}	api.TokenResponse
//	@Failure		400			{object}	api.Problem	"invalid JSON, secret, sealed, uri or option"
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		501			{object}	api.Problem	"sealed sent to an instance without SEAL_KEYS"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/generate/token [post]
func (s *server) generateToken(c *gin.Context) error {
	return s.writeToken(c, "")
}

// caller is who makes a verification: the API key's name, and the client
// the body names.
func caller(c *gin.Context, client string) (guard.Caller, error) {
	return guard.NewCaller(keyName(c), client)
}

func (s *server) writeToken(c *gin.Context, pathEncoding string) error {
	var req api.TokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key, err := s.key(c, pathEncoding, req.SecretForm, req.TOTPOptions)
	if err != nil {
		return err
	}
	code, err := key.Generate(s.now())
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, api.TokenResponse{Token: code.Token, Remaining: code.Remaining, Period: key.Period, Step: code.Step})
}

// verifyToken answers POST /verify/token.
//
//	@Summary		Verify a code
//	@ID				verifyToken
//	@Description	Checks `token` against the steps from `skew` before now to `skew` after. A wrong code, including one of the wrong length or with non-digits, is a 200 with `valid: false` and a `reason`, so callers treat every wrong code alike. `token` may be a JSON number, which is left-padded with zeros to `digits`.
//	@Tags			tokens
//	@Accept			json
//	@Produce		json
//	@Param			request		body		api.VerifyRequest	true	"token, skew, and secret and TOTP options, or sealed (and context), or uri"
//	@Param			encoding	query		string			false	"encoding of secret when the body names none"	Enums(base32, hex, base64, ascii)
//	@Success		200			{object}	api.VerifyResponse
//	@Failure		400			{object}	api.Problem	"invalid JSON, secret, sealed, uri or option"
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429			{object}	api.Problem	"too many failed attempts for this secret; see Retry-After"
//	@Header			429			{integer}	Retry-After	"seconds before the secret (or set) takes attempts again"
//	@Failure		503			{object}	api.Problem	"guard store unreachable"
//	@Failure		501			{object}	api.Problem	"sealed sent to an instance without SEAL_KEYS"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/verify/token [post]
func (s *server) verifyToken(c *gin.Context) error {
	return s.writeVerify(c, "")
}

func (s *server) writeVerify(c *gin.Context, pathEncoding string) error {
	var req api.VerifyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	// The cheap checks first: nothing is decoded or opened for a request
	// that fails them.
	if req.Token.IsZero() {
		return missing("token")
	}
	window, err := otp.ParseWindow(req.Skew, req.SkewPast, req.SkewFuture)
	if err != nil {
		return err
	}
	who, err := caller(c, req.Client)
	if err != nil {
		return err
	}
	key, err := s.key(c, pathEncoding, req.SecretForm, req.TOTPOptions)
	if err != nil {
		return err
	}
	now := s.now()
	res, err := s.verifier.Verify(c.Request.Context(), guard.Attempt{
		Caller:    who,
		Key:       &key,
		Token:     req.Token.Text(key.Digits),
		Now:       now,
		Window:    window,
		AfterStep: req.AfterStep,
	})
	s.metrics.countVerification(res.Reason, err, who.Owner)
	s.lockEvent(res.Lock, who, req.Context)
	if err != nil {
		return err
	}
	resp := api.VerifyResponse{Valid: res.Valid, Reason: string(res.Reason), Remaining: key.Remaining(now)}
	if res.Valid {
		resp.Step, resp.Drift = &res.Step, &res.Drift
	}
	return reply(c, http.StatusOK, resp)
}

// generateQR answers POST /generate/qr.
//
//	@Summary		QR code of a secret the caller holds
//	@ID				generateQR
//	@Description	Returns a PNG QR code of the secret's `otpauth://` Key URI, for enrolling it in an authenticator app.
//	@Tags			secrets
//	@Accept			json
//	@Produce		png
//	@Produce		json
//	@Param			request		body		api.QRRequest	true	"secret, account, issuer, size and TOTP options"
//	@Param			encoding	query		string		false	"encoding of secret when the body names none"	Enums(base32, hex, base64, ascii)
//	@Success		200			{file}		binary		"image/png"
//	@Failure		400			{object}	api.Problem		"invalid JSON, secret or option"
//	@Failure		413			{object}	api.Problem		"body over 64 KiB"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		501			{object}	api.Problem	"sealed sent to an instance without SEAL_KEYS"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Failure		503			{object}	api.Problem	"as many QR codes are being drawn as the instance allows; see Retry-After"
//	@Router			/generate/qr [post]
func (s *server) generateQR(c *gin.Context) error {
	var req api.QRRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	src, err := source(c, "", req.SecretForm, req.TOTPOptions)
	if err != nil {
		return err
	}
	k, err := s.resolve(src)
	if err != nil {
		return err
	}
	if req.Account == "" && req.Issuer == "" {
		// A uri's own label, when the body names none.
		req.Account, req.Issuer = k.Account, k.Issuer
	}
	uri, err := otp.KeyURI(req.Account, req.Issuer, k.Secret(), k.Params, nil)
	if err != nil {
		return err
	}
	size := otp.DefaultQRSize
	if req.Size != nil {
		size = *req.Size
	}
	png, err := s.renderQR(uri, size, "size")
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "image/png", png)
	return nil
}
