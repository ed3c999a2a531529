package otp

import (
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
)

// Form is a TOTP secret as a request carries it: exactly one of Secret
// (written in an encoding), Sealed (with the Context it was sealed with)
// and URI. Its fields are the API's SecretForm's, so one converts to the
// other.
type Form struct {
	Secret  string
	Sealed  string
	Context string
	URI     string
}

// Options are the TOTP options that may come beside a secret in the
// clear; their fields are the API's TOTPOptions'.
type Options struct {
	Encoding  string
	Algorithm string
	Digits    *int
	Period    *int
	Encoder   string
}

// Source is a form and the options beside it.
type Source struct {
	Form
	Options
	// Fallback is the encoding of Secret when Options names none: the
	// query's, or an original route's path segment. FallbackIsOption says
	// it came from the query, where it counts as an option beside sealed
	// or uri (a path segment does not).
	Fallback         string
	FallbackIsOption bool
}

// Resolved is the Key a source names and, from a URI, the labels the URI
// carried.
type Resolved struct {
	Key
	Account, Issuer string
}

// Errors of Resolve, beside those of decoding, opening and parsing.
var (
	// ErrForms means more than one form was sent; At names the second.
	ErrForms = fault.Whole(fault.Invalid, api.CodeConflictingField, "", "send one of secret, sealed and uri")
	// ErrNoForm means none was.
	ErrNoForm = fault.Whole(fault.Invalid, api.CodeMissingField, "secret", "secret, sealed or uri is required")
	// ErrContextAlone means context came without sealed.
	ErrContextAlone = fault.Whole(fault.Invalid, api.CodeConflictingField, "context", "context goes with sealed only")
	// ErrCarried means an option came beside sealed or uri, which carry
	// their own; At names it.
	ErrCarried = fault.New(fault.Invalid, api.CodeConflictingField, "", "cannot come with sealed or uri, which carry their own options")
	// ErrSealingOff means a sealed secret came to, or was asked of, an
	// instance without seal keys.
	ErrSealingOff = fault.New(fault.NotConfigured, api.CodeSealingNotConfigured, "",
		"this instance has no SEAL_KEYS, so it can neither seal nor open secrets; start it with SEAL_KEYS=ID:KEY, KEY being 32 random bytes in base64 (head -c 32 /dev/urandom | base64)")
)

// Check reports what is wrong with the form's shape, without decoding,
// opening or parsing anything: the cheap checks, which a request fails
// before any costly one.
func (src Source) Check() error {
	forms := 0
	for _, f := range [...]struct{ name, value string }{{"secret", src.Secret}, {"sealed", src.Sealed}, {"uri", src.URI}} {
		if f.value == "" {
			continue
		}
		if forms++; forms > 1 {
			return ErrForms.At(f.name)
		}
	}
	switch {
	case forms == 0:
		return ErrNoForm
	case src.Context != "" && src.Sealed == "":
		return ErrContextAlone
	case src.Secret != "":
		return nil
	}
	if name := src.optionSent(); name != "" {
		return ErrCarried.At(name)
	}
	return nil
}

// optionSent names the first option sent, or "".
func (src Source) optionSent() string {
	switch o := src.Options; {
	case o.Encoding != "" || src.FallbackIsOption:
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

// Resolve returns the Key src names: a secret in the clear decoded in its
// encoding with its options, a Key URI parsed, or a sealed secret opened
// by sealer (nil: ErrSealingOff). Each check runs once.
func Resolve(src Source, sealer *Sealer) (Resolved, error) {
	if err := src.Check(); err != nil {
		return Resolved{}, err
	}
	switch {
	case src.URI != "":
		k, err := ParseKeyURI(src.URI)
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Key: newKey(k.Secret, k.Params), Account: k.Account, Issuer: k.Issuer}, nil
	case src.Sealed != "":
		if sealer == nil {
			return Resolved{}, ErrSealingOff
		}
		raw, p, _, err := sealer.Open(src.Sealed, src.Context)
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Key: newKey(raw, p)}, nil
	}
	encoding := src.Encoding
	if encoding == "" {
		encoding = src.Fallback
	}
	raw, err := DecodeSecret(encoding, src.Secret)
	if err != nil {
		return Resolved{}, err
	}
	p, err := ParseParams(src.Algorithm, src.Encoder, src.Digits, src.Period)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{Key: newKey(raw, p)}, nil
}
