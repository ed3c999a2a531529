package handlers

import (
	"strconv"

	"github.com/acme/totp/otp"
)

// TOTPOptions are the options every endpoint that takes a secret accepts.
// All are optional; a zero value is never taken for a default, so an
// explicit "digits": 0 is an error rather than 6.
type TOTPOptions struct {
	// Encoding is how secret is written; for POST routes it may also come as
	// the query parameter encoding, and the body wins.
	Encoding string `json:"encoding,omitempty" enums:"base32,hex,base64,ascii" example:"base32"`
	// Algorithm is the HMAC hash, case-insensitive.
	Algorithm string `json:"algorithm,omitempty" enums:"SHA1,SHA256,SHA512" example:"SHA1"`
	// Digits is the code length.
	Digits *int `json:"digits,omitempty" minimum:"6" maximum:"8" example:"6"`
	// Period is the seconds per step.
	Period *int `json:"period,omitempty" minimum:"1" maximum:"3600" example:"30"`
}

// TokenRequest asks for the current code of a secret.
type TokenRequest struct {
	Secret string `json:"secret" example:"JBSWY3DPEHPK3PXP"`
	TOTPOptions
}

// VerifyRequest asks whether a code is valid for a secret now.
type VerifyRequest struct {
	Secret string `json:"secret" example:"JBSWY3DPEHPK3PXP"`
	// Token is the code: a string, or a number that is left-padded with
	// zeros to digits. Spaces inside a string are ignored.
	Token Token `json:"token" swaggertype:"string" example:"123456"`
	// Skew is how many steps before and after now are accepted.
	Skew *int `json:"skew,omitempty" minimum:"0" maximum:"10" example:"1"`
	// AfterStep refuses any match at or before this step (reason stale):
	// store the step of each accepted code and send it here, and a code
	// can never be used twice, even with the guard off.
	AfterStep *uint64 `json:"after_step,omitempty" example:"56991233"`
	TOTPOptions
}

// QRRequest asks for the enrolment QR code of a secret the caller holds.
type QRRequest struct {
	Secret  string `json:"secret" example:"JBSWY3DPEHPK3PXP"`
	Account string `json:"account" example:"alice@example.com"`
	Issuer  string `json:"issuer,omitempty" example:"Acme"`
	// Size is the PNG's width and height in pixels.
	Size *int `json:"size,omitempty" minimum:"64" maximum:"1024" example:"256"`
	TOTPOptions
}

// SecretResponse is a new secret, with its Key URI and QR code when an
// account was given.
type SecretResponse struct {
	Secret   string `json:"secret" example:"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"`
	Encoding string `json:"encoding" example:"base32"`
	// Length is the number of random bytes.
	Length int `json:"length" example:"20"`
	// URI is the otpauth:// Key URI, secret in unpadded base32.
	URI string `json:"uri,omitempty" example:"otpauth://totp/Acme:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme&algorithm=SHA1&digits=6&period=30"`
	// QR is a PNG of URI as a data URI.
	QR string `json:"qr,omitempty" example:"data:image/png;base64,iVBORw0KGgo..."`
}

// TokenResponse is the code in force now.
type TokenResponse struct {
	Token string `json:"token" example:"017724"`
	// Remaining is the whole seconds before the code changes, 1 to period.
	Remaining int `json:"remaining" example:"29"`
	Period    int `json:"period" example:"30"`
	// Step is the RFC 6238 counter, floor(unix time / period).
	Step uint64 `json:"step" example:"56991234"`
}

// VerifyResponse says whether a code is valid.
type VerifyResponse struct {
	Valid bool `json:"valid" example:"true"`
	// Reason says why a code is not valid: mismatch (wrong code), malformed
	// (wrong length or a non-digit), replayed (this code or a later one was
	// already accepted), stale (at or before after_step).
	Reason string `json:"reason,omitempty" enums:"mismatch,malformed,replayed,stale" example:""`
	// Remaining is the whole seconds left in the current step.
	Remaining int `json:"remaining" example:"18"`
	// Step is the matched counter, when valid.
	Step *uint64 `json:"step,omitempty" example:"56991234"`
	// Drift is the matched step minus the current one, when valid.
	Drift *int64 `json:"drift,omitempty" example:"0"`
}

// appendJSON appends r as json.Marshal writes it, without reflection: this
// is the answer of the hottest route. TestVerifyResponseJSON holds the two
// to the same bytes.
func (r VerifyResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"valid":`...)
	b = strconv.AppendBool(b, r.Valid)
	if r.Reason != "" {
		// Reasons are fixed lower-case words: nothing to escape.
		b = append(b, `,"reason":"`...)
		b = append(b, r.Reason...)
		b = append(b, '"')
	}
	b = append(b, `,"remaining":`...)
	b = strconv.AppendInt(b, int64(r.Remaining), 10)
	if r.Step != nil {
		b = append(b, `,"step":`...)
		b = strconv.AppendUint(b, *r.Step, 10)
	}
	if r.Drift != nil {
		b = append(b, `,"drift":`...)
		b = strconv.AppendInt(b, *r.Drift, 10)
	}
	return append(b, '}')
}

// ReadyResponse is the readiness answer.
type ReadyResponse struct {
	Status string `json:"status" example:"ready"`
}

// HealthResponse is the liveness answer.
type HealthResponse struct {
	Status string `json:"status" example:"ok"`
}

// params resolves the options into otp.Params, naming the field at fault.
func (o TOTPOptions) params() (otp.Params, *Problem) {
	p := otp.DefaultParams
	alg, err := otp.ParseAlgorithm(o.Algorithm)
	if err != nil {
		return p, fieldProblem("algorithm", err)
	}
	p.Algorithm = alg
	if o.Digits != nil {
		p.Digits = *o.Digits
		if p.Digits < otp.MinDigits || p.Digits > otp.MaxDigits {
			return p, fieldProblem("digits", otp.ErrInvalidDigits)
		}
	}
	if o.Period != nil {
		p.Period = *o.Period
		if p.Period < otp.MinPeriod || p.Period > otp.MaxPeriod {
			return p, fieldProblem("period", otp.ErrInvalidPeriod)
		}
	}
	return p, nil
}

// secret decodes secret in the options' encoding, or in fallback (the
// query's or the path's) when the body names none.
func (o TOTPOptions) secret(secret, fallback string) ([]byte, *Problem) {
	name := o.Encoding
	if name == "" {
		name = fallback
	}
	enc, err := otp.ParseEncoding(name)
	if err != nil {
		return nil, fieldProblem("encoding", err)
	}
	if secret == "" {
		return nil, missing("secret")
	}
	key, err := enc.Decode(secret)
	if err != nil {
		return nil, fieldProblem("secret", err)
	}
	return key, nil
}

// key decodes the secret and builds the otp.Key the options describe.
func (o TOTPOptions) key(secret, fallback string) ([]byte, *otp.Key, *Problem) {
	raw, prob := o.secret(secret, fallback)
	if prob != nil {
		return nil, nil, prob
	}
	p, prob := o.params()
	if prob != nil {
		return nil, nil, prob
	}
	key, err := otp.NewKey(raw, p)
	if err != nil {
		return nil, nil, fieldProblem("secret", err)
	}
	return raw, &key, nil
}
