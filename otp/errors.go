package otp

import (
	"fmt"
	"strings"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
)

// Errors returned by this package, each naming the field it is about as
// the API names it. Callers match them with errors.Is; none of them
// carries a secret or a code.
var (
	ErrUnknownEncoding  = invalid("encoding", "must be one of "+join(Encodings))
	ErrUnknownAlgorithm = invalid("algorithm", "must be one of "+join(Algorithms))
	ErrInvalidDigits    = invalid("digits", fmt.Sprintf("must be %d, 7 or %d (%d with the steam encoder)", MinDigits, MaxDigits, SteamDigits))
	ErrInvalidPeriod    = invalid("period", fmt.Sprintf("must be from %d to %d seconds", MinPeriod, MaxPeriod))
	ErrInvalidSkew      = invalid("skew", fmt.Sprintf("must be from 0 to %d steps", MaxSkew))
	ErrUnknownEncoder   = invalid("encoder", "must be default or steam")
	ErrSteamDigits      = invalid("digits", fmt.Sprintf("must be %d with the steam encoder", SteamDigits))
	ErrInvalidLookAhead = invalid("look_ahead", fmt.Sprintf("must be from 0 to %d (%d for a resync)", MaxLookAhead, MaxResyncLookAhead))
	// ErrSkewAndSides means skew and skew_past or skew_future were both given.
	ErrSkewAndSides  = invalid("skew", "cannot be sent with skew_past or skew_future: send one or the other")
	ErrInvalidLength = invalid("length", fmt.Sprintf("must be from %d to %d bytes", MinGenerateLen, MaxGenerateLen))

	// ErrMissing means a required input is empty; At names which.
	ErrMissing = fault.New(fault.Invalid, api.CodeMissingField, "", "is required")
	// ErrInvalidSecret means the secret does not decode in its encoding.
	ErrInvalidSecret = fault.New(fault.Invalid, api.CodeInvalidSecret, "secret", "does not decode in its encoding")
	// ErrSecretTooShort and ErrSecretTooLong bound the decoded key.
	ErrSecretTooShort = fault.New(fault.Invalid, api.CodeInvalidSecret, "secret", fmt.Sprintf("must decode to at least %d bytes", MinKeyLen))
	ErrSecretTooLong  = fault.New(fault.Invalid, api.CodeInvalidSecret, "secret", fmt.Sprintf("must decode to at most %d bytes", MaxKeyLen))
	// ErrCannotEncode means an encoding cannot carry arbitrary bytes (ascii).
	ErrCannotEncode = invalid("encoding", "ascii cannot carry random bytes; use base32, hex or base64")

	// ErrColonInLabel means an issuer or account contains a colon, which the
	// Key URI format reserves as the label separator.
	ErrColonInLabel = invalid("account", "must not contain a colon (the Key URI label separator)")
	// ErrLabelTooLong bounds account and issuer, which end up in a QR code.
	ErrLabelTooLong = invalid("account", fmt.Sprintf("must be at most %d bytes", MaxLabelLen))
	// ErrEmptyAccount means a Key URI was asked for without an account name.
	ErrEmptyAccount = ErrMissing.At("account")
	// ErrInvalidQRSize means the QR size is out of range or too small for the URI.
	ErrInvalidQRSize = invalid("size", fmt.Sprintf("must be from %d to %d pixels, and large enough for the URI", MinQRSize, MaxQRSize))
)

func invalid(field, msg string) *fault.Error {
	return fault.New(fault.Invalid, api.CodeInvalidParameter, field, msg)
}

// field is err about name, when there is an err.
func field(name string, err error) error { return fault.At(name, err) }

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
