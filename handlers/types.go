package handlers

import (
	"strconv"

	"github.com/acme/totp/api"
	"github.com/acme/totp/otp"
)

// appendVerifyJSON appends r as json.Marshal writes it, without reflection: this
// is the answer of the hottest route. TestVerifyResponseJSON holds the two
// to the same bytes.
func appendVerifyJSON(b []byte, r api.VerifyResponse) []byte {
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

// params resolves the options into otp.Params, naming the field at fault.
func params(o api.TOTPOptions) (otp.Params, *api.Problem) {
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

// decodeSecret decodes secret in the options' encoding, or in fallback (the
// query's or the path's) when the body names none.
func decodeSecret(o api.TOTPOptions, secret, fallback string) ([]byte, *api.Problem) {
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

// newKey decodes the secret and builds the otp.Key the options describe.
func newKey(o api.TOTPOptions, secret, fallback string) ([]byte, *otp.Key, *api.Problem) {
	raw, prob := decodeSecret(o, secret, fallback)
	if prob != nil {
		return nil, nil, prob
	}
	p, prob := params(o)
	if prob != nil {
		return nil, nil, prob
	}
	key, err := otp.NewKey(raw, p)
	if err != nil {
		return nil, nil, fieldProblem("secret", err)
	}
	return raw, &key, nil
}
