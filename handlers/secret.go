package handlers

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/otp"
)

// source is the secret a route's body names, with the encoding it falls
// back on when the body names none: an original route's path segment,
// else the query's encoding, which every route that takes a secret reads.
func source(c *gin.Context, fromPath string, form api.SecretForm, opts api.TOTPOptions) (otp.Source, error) {
	src := otp.Source{Form: otp.Form(form), Options: otp.Options(opts), Fallback: fromPath}
	if fromPath == "" {
		q, err := newQuery(c, "encoding")
		if err != nil {
			return otp.Source{}, err
		}
		src.Fallback, src.FallbackIsOption = q.str("encoding"), q.values.Has("encoding")
	}
	return src, nil
}

// resolve returns the Key src names, counting the opening of a sealed
// secret.
func (s *server) resolve(src otp.Source) (otp.Resolved, error) {
	k, err := otp.Resolve(src, s.sealer)
	if src.Sealed != "" && s.sealer != nil && src.Check() == nil {
		if err == nil {
			s.metrics.countSeal("open", resultOK)
		} else if errors.Is(err, otp.ErrInvalidSealed) || errors.Is(err, otp.ErrMissing) {
			s.metrics.countSeal("open", resultInvalid)
		}
	}
	return k, err
}

// key is the Key of the secret a TOTP route's body names.
func (s *server) key(c *gin.Context, fromPath string, form api.SecretForm, opts api.TOTPOptions) (otp.Key, error) {
	src, err := source(c, fromPath, form, opts)
	if err != nil {
		return otp.Key{}, err
	}
	k, err := s.resolve(src)
	return k.Key, err
}
