package otp

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	potp "github.com/pquerna/otp"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
)

// Errors of ParseKeyURI, all about "uri". None quotes the URI, which
// holds the secret.
var (
	// ErrInvalidURI is what every ParseKeyURI error matches; it explains
	// why.
	ErrInvalidURI = fault.New(fault.Invalid, api.CodeInvalidURI, "uri", "is not a usable otpauth://totp Key URI")
	errNotURI     = errors.New("not an otpauth:// URI")
	errHOTPURI    = errors.New("an otpauth://hotp URI on a TOTP route")
	errURIType    = errors.New("type must be totp")
	errRepeated   = errors.New("a parameter is given twice")
	errURINumber  = errors.New("digits and period must be whole numbers")
)

// uriError is ErrInvalidURI for reason, which errors.Is still sees.
func uriError(reason error) error {
	return ErrInvalidURI.Explain(reason.Error()).Because(reason)
}

// ImportedKey is what a Key URI carries.
type ImportedKey struct {
	Secret          []byte
	Params          Params
	Account, Issuer string
}

// ParseKeyURI reads an otpauth://totp Key URI as authenticator apps do,
// through pquerna's NewKeyFromURL, with the Key URI format's defaults
// (SHA1, 6 digits, 30 seconds). Where pquerna falls back on a default
// for a value it cannot read (algorithm=MD5, digits=six), this refuses
// it: such a URI's codes would never match the app's.
func ParseKeyURI(uri string) (ImportedKey, error) {
	key, err := potp.NewKeyFromURL(uri)
	if err != nil {
		return ImportedKey{}, uriError(errNotURI)
	}
	// pquerna reads the query leniently; its scheme and parameters are
	// read again here, strictly, from the same trimmed text.
	u, err := url.Parse(key.String())
	if err != nil || u.Scheme != "otpauth" {
		return ImportedKey{}, uriError(errNotURI)
	}
	switch strings.ToLower(key.Type()) {
	case "totp":
	case "hotp":
		return ImportedKey{}, uriError(errHOTPURI)
	default:
		return ImportedKey{}, uriError(errURIType)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return ImportedKey{}, uriError(errNotURI)
	}
	for _, vs := range q {
		if len(vs) > 1 {
			return ImportedKey{}, uriError(errRepeated)
		}
	}
	var digits, period *int
	for _, n := range []struct {
		name string
		dst  **int
	}{{"digits", &digits}, {"period", &period}} {
		if !q.Has(n.name) {
			continue
		}
		v, err := strconv.Atoi(q.Get(n.name))
		if err != nil {
			return ImportedKey{}, uriError(errURINumber)
		}
		*n.dst = &v
	}
	p, err := ParseParams(q.Get("algorithm"), q.Get("encoder"), digits, period)
	if err != nil {
		return ImportedKey{}, uriError(err)
	}
	if !q.Has("secret") {
		return ImportedKey{}, uriError(ErrMissing.At("secret"))
	}
	secret, err := Base32.Decode(key.Secret())
	if err != nil {
		return ImportedKey{}, uriError(err)
	}
	return ImportedKey{Secret: secret, Params: p, Account: key.AccountName(), Issuer: key.Issuer()}, nil
}

// Warning names a parameter some authenticator apps ignore.
type Warning string

// The warnings Warnings returns.
const (
	NonstandardAlgorithm Warning = "nonstandard_algorithm"
	NonstandardDigits    Warning = "nonstandard_digits"
	NonstandardPeriod    Warning = "nonstandard_period"
)

// Warnings lists the parameters of p that differ from DefaultParams:
// Google Authenticator, among others, has ignored them and shown codes
// made with the defaults, which then never verify.
func (p Params) Warnings() []Warning {
	var w []Warning
	if p.Algorithm != DefaultParams.Algorithm {
		w = append(w, NonstandardAlgorithm)
	}
	if p.Digits != DefaultParams.Digits {
		w = append(w, NonstandardDigits)
	}
	if p.Period != DefaultParams.Period {
		w = append(w, NonstandardPeriod)
	}
	return w
}
