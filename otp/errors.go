package otp

import "errors"

// Errors returned by this package. Callers match them with errors.Is; none of
// them carries a secret or a code.
var (
	ErrUnknownEncoding  = errors.New("unknown encoding")
	ErrUnknownAlgorithm = errors.New("unknown algorithm")
	ErrInvalidDigits    = errors.New("digits out of range")
	ErrInvalidPeriod    = errors.New("period out of range")
	ErrInvalidSkew      = errors.New("skew out of range")
	ErrUnknownEncoder   = errors.New("unknown encoder")
	ErrSteamDigits      = errors.New("steam codes have 5 characters")
	ErrInvalidLookAhead = errors.New("look-ahead out of range")
	// ErrSkewAndSides means skew and skew_past or skew_future were both given.
	ErrSkewAndSides  = errors.New("skew with skew_past or skew_future")
	ErrInvalidLength = errors.New("secret length out of range")

	// ErrMissing means a required input is empty.
	ErrMissing = errors.New("missing")
	// ErrInvalidSecret means the secret does not decode in its encoding.
	ErrInvalidSecret = errors.New("secret does not decode")
	// ErrSecretTooShort and ErrSecretTooLong bound the decoded key.
	ErrSecretTooShort = errors.New("secret too short")
	ErrSecretTooLong  = errors.New("secret too long")
	// ErrCannotEncode means an encoding cannot carry arbitrary bytes (ascii).
	ErrCannotEncode = errors.New("encoding cannot carry random bytes")

	// ErrMalformedToken means a code has the wrong length or a non-digit.
	ErrMalformedToken = errors.New("malformed token")

	// ErrColonInLabel means an issuer or account contains a colon, which the
	// Key URI format reserves as the label separator.
	ErrColonInLabel = errors.New("label contains a colon")
	// ErrLabelTooLong bounds account and issuer, which end up in a QR code.
	ErrLabelTooLong = errors.New("label too long")
	// ErrEmptyAccount means a Key URI was asked for without an account name.
	ErrEmptyAccount = errors.New("account is empty")
	// ErrInvalidQRSize means the QR size is out of range or too small for the URI.
	ErrInvalidQRSize = errors.New("qr size out of range")
)

// FieldError is an error about one input, named as the API names it
// ("digits", "secret"), so the HTTP layer can point at the field without
// checking the bound again.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap lets errors.Is see the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// field wraps err, when there is one, as a *FieldError about name.
func field(name string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: name, Err: err}
}
