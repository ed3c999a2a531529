package handlers

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
)

// legacyGenerateSecret answers the original service's
// GET /auth/generate/secret/{encoding}/{length}.
//
//	@Summary		Generate a new random secret (original route)
//	@ID				legacyGenerateSecret
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
func (s *server) legacyGenerateSecret(c *gin.Context) error {
	if _, err := newQuery(c); err != nil {
		return err
	}
	length, err := strconv.Atoi(c.Param("length"))
	if err != nil {
		return badRequest(api.CodeInvalidParameter, "length", "length must be an integer")
	}
	return s.writeSecret(c, secretRequest{length: &length, encoding: c.Param("encoding")})
}

// legacyGenerateToken answers the original service's
// POST /auth/generate/token/{encoding}.
//
//	@Summary		Current code of a secret (original route)
//	@ID				legacyGenerateToken
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
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/auth/generate/token/{encoding} [post]
func (s *server) legacyGenerateToken(c *gin.Context) error {
	return s.writeToken(c, c.Param("encoding"))
}

// legacyVerifyToken answers the original service's
// POST /auth/verify/token/{encoding}.
//
//	@Summary		Verify a code (original route)
//	@ID				legacyVerifyToken
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
//	@Header			429			{integer}	Retry-After	"seconds before the secret (or set) takes attempts again"
//	@Failure		503			{object}	api.Problem	"guard store unreachable"
//	@Security		ApiKeyAuth
//	@Security		BearerAuth
//	@Failure		415			{object}	api.Problem	"a body sent as another type than JSON"
//	@Router			/auth/verify/token/{encoding} [post]
func (s *server) legacyVerifyToken(c *gin.Context) error {
	return s.writeVerify(c, c.Param("encoding"))
}
