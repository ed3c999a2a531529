package otp_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
)

func TestParseKeyURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	const b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, tc := range []struct {
		name            string
		uri             string
		params          otp.Params
		account, issuer string
	}{
		{"defaults", "otpauth://totp/alice?secret=" + b32, otp.DefaultParams, "alice", ""},
		{"every parameter", "otpauth://totp/Acme:alice?secret=" + b32 + "&issuer=Acme&algorithm=SHA512&digits=8&period=60",
			otp.Params{Algorithm: otp.SHA512, Digits: 8, Period: 60}, "alice", "Acme"},
		{"lower case, padded secret and algorithm", "otpauth://totp/x?secret=" + strings.ToLower(b32) + "&algorithm=sha256",
			otp.Params{Algorithm: otp.SHA256, Digits: 6, Period: 30}, "x", ""},
		{"percent-encoded label", "otpauth://totp/Acme%20%26%20Co:Alice%20Smith%40example.com?secret=" + b32 + "&issuer=Acme%20%26%20Co",
			otp.DefaultParams, "Alice Smith@example.com", "Acme & Co"},
		{"steam", "otpauth://totp/s?secret=" + b32 + "&encoder=steam", otp.Params{Algorithm: otp.SHA1, Digits: 5, Period: 30, Encoder: otp.EncoderSteam}, "s", ""},
		{"scheme and type in capitals", "OTPAUTH://TOTP/a?secret=" + b32, otp.DefaultParams, "a", ""},
		{"surrounding spaces", "  otpauth://totp/a?secret=" + b32 + "\n", otp.DefaultParams, "a", ""},
		{"unknown parameters ignored", "otpauth://totp/a?secret=" + b32 + "&image=https%3A%2F%2Fexample.com%2Fa.png", otp.DefaultParams, "a", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := otp.ParseKeyURI(tc.uri)
			require.NoError(t, err)
			assert.Equal(t, secret, k.Secret)
			assert.Equal(t, tc.params, k.Params)
			assert.Equal(t, tc.account, k.Account)
			assert.Equal(t, tc.issuer, k.Issuer)
		})
	}
}

func TestParseKeyURIRefuses(t *testing.T) {
	const b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, tc := range []struct {
		name, uri string
		reason    error
	}{
		{"empty", "", nil},
		{"not a URL", "::" + b32, nil},
		{"http", "https://totp/a?secret=" + b32, nil},
		{"hotp", "otpauth://hotp/a?secret=" + b32 + "&counter=1", nil},
		{"other type", "otpauth://motp/a?secret=" + b32, nil},
		{"no secret", "otpauth://totp/a?digits=6", otp.ErrMissing},
		{"secret not base32", "otpauth://totp/a?secret=" + b32 + "1", otp.ErrInvalidSecret},
		{"secret too short", "otpauth://totp/a?secret=GEZDGNBV", otp.ErrSecretTooShort},
		{"unknown algorithm", "otpauth://totp/a?secret=" + b32 + "&algorithm=MD5", otp.ErrUnknownAlgorithm},
		{"digits out of range", "otpauth://totp/a?secret=" + b32 + "&digits=10", otp.ErrInvalidDigits},
		{"digits in words", "otpauth://totp/a?secret=" + b32 + "&digits=six", nil},
		{"period zero", "otpauth://totp/a?secret=" + b32 + "&period=0", otp.ErrInvalidPeriod},
		{"period negative", "otpauth://totp/a?secret=" + b32 + "&period=-30", otp.ErrInvalidPeriod},
		{"unknown encoder", "otpauth://totp/a?secret=" + b32 + "&encoder=blizzard", otp.ErrUnknownEncoder},
		{"secret twice", "otpauth://totp/a?secret=" + b32 + "&secret=JBSWY3DPEHPK3PXP", nil},
		{"bad escape", "otpauth://totp/a?secret=" + b32 + "&issuer=%zz", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := otp.ParseKeyURI(tc.uri)
			var fe *fault.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "uri", fe.Field)
			assert.ErrorIs(t, err, otp.ErrInvalidURI)
			if tc.reason != nil {
				assert.ErrorIs(t, err, tc.reason)
			}
			assert.NotContains(t, err.Error(), b32[:16], "never quotes the URI")
			assert.Equal(t, api.CodeInvalidURI, fe.Code)
		})
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		params otp.Params
		want   []otp.Warning
	}{
		{otp.DefaultParams, nil},
		{otp.Params{Algorithm: otp.SHA256, Digits: 6, Period: 30}, []otp.Warning{otp.NonstandardAlgorithm}},
		{otp.Params{Algorithm: otp.SHA1, Digits: 8, Period: 30}, []otp.Warning{otp.NonstandardDigits}},
		{otp.Params{Algorithm: otp.SHA1, Digits: 6, Period: 60}, []otp.Warning{otp.NonstandardPeriod}},
		{otp.Params{Algorithm: otp.SHA512, Digits: 7, Period: 15}, []otp.Warning{otp.NonstandardAlgorithm, otp.NonstandardDigits, otp.NonstandardPeriod}},
	} {
		assert.Equal(t, tc.want, tc.params.Warnings(), "%+v", tc.params)
	}
}
