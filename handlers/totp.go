package handlers

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
)

// writeJSON answers with body, already JSON. It sets Content-Type through
// a shared value: c.Data's Header().Set canonicalises the name and
// allocates on every call.
func writeJSON(c *gin.Context, status int, body []byte) {
	c.Writer.Header()["Content-Type"] = jsonContentType
	c.Writer.WriteHeader(status)
	_, _ = c.Writer.Write(body)
}

// maxLabelLen bounds account and issuer, which end up in a QR code.
const maxLabelLen = 256

// secretParams are the query parameters of GET /generate/secret.
var secretParams = []string{"length", "encoding", "account", "issuer", "algorithm", "digits", "period", "qr"}

// generateSecret answers GET /generate/secret.
//
//	@Summary		Generate a new random secret
//	@Description	Returns `length` random bytes from crypto/rand, written in `encoding`. With `account` (and optionally `issuer` and the TOTP options) it adds the `otpauth://` Key URI, whose secret is always unpadded base32; with `qr` also a PNG QR code of it as a data URI.
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
//	@Success		200			{object}	api.SecretResponse
//	@Failure		400			{object}	api.Problem	"invalid parameter"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/generate/secret [get]
func (s *Server) generateSecret(c *gin.Context) {
	q, prob := newQuery(c, secretParams...)
	if prob != nil {
		abort(c, prob)
		return
	}
	length, prob := q.int("length")
	if prob != nil {
		abort(c, prob)
		return
	}
	qrSize, prob := q.int("qr")
	if prob != nil {
		abort(c, prob)
		return
	}
	opts := api.TOTPOptions{Algorithm: q.str("algorithm")}
	if opts.Digits, prob = q.int("digits"); prob != nil {
		abort(c, prob)
		return
	}
	if opts.Period, prob = q.int("period"); prob != nil {
		abort(c, prob)
		return
	}
	s.writeSecret(c, secretRequest{
		length:   length,
		encoding: q.str("encoding"),
		account:  q.str("account"),
		issuer:   q.str("issuer"),
		qrSize:   qrSize,
		opts:     opts,
	})
}

type secretRequest struct {
	length          *int
	encoding        string
	account, issuer string
	qrSize          *int
	opts            api.TOTPOptions
}

func (s *Server) writeSecret(c *gin.Context, req secretRequest) {
	length := otp.DefaultGenerateLen
	if req.length != nil {
		length = *req.length
	}
	enc, err := otp.ParseEncoding(req.encoding)
	if err == nil && enc == otp.ASCII {
		err = otp.ErrCannotEncode
	}
	if err != nil {
		s.fail(c, "encoding", err)
		return
	}
	params, prob := params(req.opts)
	if prob != nil {
		abort(c, prob)
		return
	}
	if prob := checkLabels(req.account, req.issuer); prob != nil {
		abort(c, prob)
		return
	}
	if req.account == "" && (req.issuer != "" || req.qrSize != nil) {
		abort(c, badRequest(api.CodeMissingField, "account", "account is required with issuer or qr"))
		return
	}
	if req.qrSize != nil && (*req.qrSize < otp.MinQRSize || *req.qrSize > otp.MaxQRSize) {
		s.fail(c, "qr", otp.ErrInvalidQRSize)
		return
	}

	key, err := otp.GenerateSecret(s.Random, length)
	if err != nil {
		s.fail(c, "length", err)
		return
	}
	text, err := enc.Encode(key)
	if err != nil {
		s.fail(c, "encoding", err)
		return
	}
	resp := api.SecretResponse{Secret: text, Encoding: string(enc), Length: length}
	if req.account != "" {
		if resp.URI, err = otp.KeyURI(req.account, req.issuer, key, params); err != nil {
			s.fail(c, "account", err)
			return
		}
	}
	if req.qrSize != nil {
		png, err := otp.QR(resp.URI, *req.qrSize)
		if err != nil {
			s.fail(c, "qr", err)
			return
		}
		resp.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	c.PureJSON(http.StatusOK, resp)
}

// checkLabels bounds account and issuer and refuses the colon the Key URI
// label reserves.
func checkLabels(account, issuer string) *api.Problem {
	for _, f := range []struct{ name, value string }{{"account", account}, {"issuer", issuer}} {
		if len(f.value) > maxLabelLen {
			return invalidParam(f.name, "%s must be at most %d bytes", f.name, maxLabelLen)
		}
		if err := otp.CheckLabel(f.value); err != nil {
			return fieldProblem(f.name, err)
		}
	}
	return nil
}

// generateToken answers POST /generate/token.
//
//	@Summary		Current code of a secret
//	@Description	Returns the code in force now, the seconds before it changes and its RFC 6238 step.
//	@Tags			tokens
//	@Accept			json
//	@Produce		json
//	@Param			request		body		api.TokenRequest	true	"secret and TOTP options"
//	@Param			encoding	query		string			false	"encoding of secret when the body names none"	Enums(base32, hex, base64, ascii)
//	@Success		200			{object}	api.TokenResponse
//	@Failure		400			{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/generate/token [post]
func (s *Server) generateToken(c *gin.Context) {
	s.writeToken(c, "")
}

// bodyEncoding returns the encoding a POST route falls back on when the
// body names none: the original routes' path segment, else the query's.
func bodyEncoding(c *gin.Context, fromPath string) (string, *api.Problem) {
	q, prob := newQuery(c, "encoding")
	if prob != nil || fromPath != "" {
		return fromPath, prob
	}
	return q.str("encoding"), nil
}

func (s *Server) writeToken(c *gin.Context, pathEncoding string) {
	fallbackEncoding, prob := bodyEncoding(c, pathEncoding)
	if prob != nil {
		abort(c, prob)
		return
	}
	var req api.TokenRequest
	if prob := decodeJSON(c, &req); prob != nil {
		abort(c, prob)
		return
	}
	_, key, prob := newKey(req.TOTPOptions, req.Secret, fallbackEncoding)
	if prob != nil {
		abort(c, prob)
		return
	}
	code := key.Generate(s.Now())
	c.PureJSON(http.StatusOK, api.TokenResponse{Token: code.Token, Remaining: code.Remaining, Period: key.Period, Step: code.Step})
}

// verifyToken answers POST /verify/token.
//
//	@Summary		Verify a code
//	@Description	Checks `token` against the steps from `skew` before now to `skew` after. A wrong code, including one of the wrong length or with non-digits, is a 200 with `valid: false` and a `reason`, so callers treat every wrong code alike. `token` may be a JSON number, which is left-padded with zeros to `digits`.
//	@Tags			tokens
//	@Accept			json
//	@Produce		json
//	@Param			request		body		api.VerifyRequest	true	"secret, token, skew and TOTP options"
//	@Param			encoding	query		string			false	"encoding of secret when the body names none"	Enums(base32, hex, base64, ascii)
//	@Success		200			{object}	api.VerifyResponse
//	@Failure		400			{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429			{object}	api.Problem	"too many failed attempts for this secret; see Retry-After"
//	@Failure		503			{object}	api.Problem	"guard store unreachable"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/verify/token [post]
func (s *Server) verifyToken(c *gin.Context) {
	s.writeVerify(c, "")
}

func (s *Server) writeVerify(c *gin.Context, pathEncoding string) {
	fallbackEncoding, prob := bodyEncoding(c, pathEncoding)
	if prob != nil {
		abort(c, prob)
		return
	}
	var req api.VerifyRequest
	if prob := decodeJSON(c, &req); prob != nil {
		abort(c, prob)
		return
	}
	raw, key, prob := newKey(req.TOTPOptions, req.Secret, fallbackEncoding)
	if prob != nil {
		abort(c, prob)
		return
	}
	if req.Token.IsZero() {
		abort(c, missing("token"))
		return
	}
	skew := otp.DefaultSkew
	if req.Skew != nil {
		skew = *req.Skew
		if skew < 0 || skew > otp.MaxSkew {
			s.fail(c, "skew", otp.ErrInvalidSkew)
			return
		}
	}
	now := s.Now()
	res, err := s.Verifier.Verify(c.Request.Context(), guard.Attempt{
		Secret:    raw,
		Key:       key,
		Token:     req.Token.Text(key.Digits),
		Now:       now,
		Skew:      skew,
		AfterStep: req.AfterStep,
	})
	s.Metrics.countVerification(res.Reason, err)
	if err != nil {
		s.fail(c, "", err)
		return
	}
	resp := api.VerifyResponse{Valid: res.Valid, Reason: string(res.Reason), Remaining: key.Remaining(now)}
	if res.Valid {
		resp.Step, resp.Drift = &res.Step, &res.Drift
	}
	writeJSON(c, http.StatusOK, appendVerifyJSON(make([]byte, 0, 96), resp))
}

// generateQR answers POST /generate/qr.
//
//	@Summary		QR code of a secret the caller holds
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
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/generate/qr [post]
func (s *Server) generateQR(c *gin.Context) {
	fallbackEncoding, prob := bodyEncoding(c, "")
	if prob != nil {
		abort(c, prob)
		return
	}
	var req api.QRRequest
	if prob := decodeJSON(c, &req); prob != nil {
		abort(c, prob)
		return
	}
	raw, prob := decodeSecret(req.TOTPOptions, req.Secret, fallbackEncoding)
	if prob != nil {
		abort(c, prob)
		return
	}
	params, prob := params(req.TOTPOptions)
	if prob != nil {
		abort(c, prob)
		return
	}
	if req.Account == "" {
		abort(c, missing("account"))
		return
	}
	if prob := checkLabels(req.Account, req.Issuer); prob != nil {
		abort(c, prob)
		return
	}
	size := otp.DefaultQRSize
	if req.Size != nil {
		size = *req.Size
	}
	uri, err := otp.KeyURI(req.Account, req.Issuer, raw, params)
	if err != nil {
		s.fail(c, "account", err)
		return
	}
	png, err := otp.QR(uri, size)
	if err != nil {
		s.fail(c, "size", err)
		return
	}
	c.Data(http.StatusOK, "image/png", png)
}

// legacyGenerateSecret answers the original service's
// GET /auth/generate/secret/{encoding}/{length}.
//
//	@Summary		Generate a new random secret (original route)
//	@Description	Same answer as GET /generate/secret?encoding={encoding}&length={length}.
//	@Tags			original routes
//	@Produce		json
//	@Param			encoding	path		string	true	"encoding of the returned secret"	Enums(base32, hex, base64)
//	@Param			length		path		int		true	"random bytes"	minimum(16)	maximum(128)
//	@Success		200			{object}	api.SecretResponse
//	@Failure		400			{object}	api.Problem	"invalid parameter"
//	@Deprecated
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/auth/generate/secret/{encoding}/{length} [get]
func (s *Server) legacyGenerateSecret(c *gin.Context) {
	if _, prob := newQuery(c); prob != nil {
		abort(c, prob)
		return
	}
	length, err := strconv.Atoi(c.Param("length"))
	if err != nil {
		abort(c, invalidParam("length", "length must be an integer"))
		return
	}
	s.writeSecret(c, secretRequest{length: &length, encoding: c.Param("encoding")})
}

// legacyGenerateToken answers the original service's
// POST /auth/generate/token/{encoding}.
//
//	@Summary		Current code of a secret (original route)
//	@Description	Same answer as POST /generate/token; {encoding} applies when the body names none.
//	@Tags			original routes
//	@Accept			json
//	@Produce		json
//	@Param			encoding	path		string			true	"encoding of secret"	Enums(base32, hex, base64, ascii)
//	@Param			request		body		api.TokenRequest	true	"secret and TOTP options"
//	@Success		200			{object}	api.TokenResponse
//	@Failure		400			{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Deprecated
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/auth/generate/token/{encoding} [post]
func (s *Server) legacyGenerateToken(c *gin.Context) {
	s.writeToken(c, c.Param("encoding"))
}

// legacyVerifyToken answers the original service's
// POST /auth/verify/token/{encoding}.
//
//	@Summary		Verify a code (original route)
//	@Description	Same answer as POST /verify/token; {encoding} applies when the body names none.
//	@Tags			original routes
//	@Accept			json
//	@Produce		json
//	@Param			encoding	path		string			true	"encoding of secret"	Enums(base32, hex, base64, ascii)
//	@Param			request		body		api.VerifyRequest	true	"secret, token, skew and TOTP options"
//	@Success		200			{object}	api.VerifyResponse
//	@Failure		400			{object}	api.Problem	"invalid JSON, secret or option"
//	@Failure		413			{object}	api.Problem	"body over 64 KiB"
//	@Deprecated
//	@Failure		401			{object}	api.Problem	"API key missing or wrong (when keys are configured)"
//	@Failure		429			{object}	api.Problem	"too many failed attempts for this secret; see Retry-After"
//	@Failure		503			{object}	api.Problem	"guard store unreachable"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Router			/auth/verify/token/{encoding} [post]
func (s *Server) legacyVerifyToken(c *gin.Context) {
	s.writeVerify(c, c.Param("encoding"))
}
