package handlers_test

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/recovery"
)

// TestDocumentedBoundsAreTheCheckedOnes: every bound the wire types
// document (and Swagger UI, the OpenAPI document and the Node types show)
// is the constant the service checks. The client module cannot import the
// server's constants, so this test holds them together.
func TestDocumentedBoundsAreTheCheckedOnes(t *testing.T) {
	seconds := func(d time.Duration) int { return int(d / time.Second) }
	tests := []struct {
		name  string
		typ   any
		field string
		tag   string
		want  int
	}{
		{"TOTP digits, steam's five the least", api.TOTPOptions{}, "Digits", "minimum", min(otp.MinDigits, otp.SteamDigits)},
		{"TOTP digits, most", api.TOTPOptions{}, "Digits", "maximum", otp.MaxDigits},
		{"HOTP digits, least", api.HOTPOptions{}, "Digits", "minimum", min(otp.MinDigits, otp.SteamDigits)},
		{"HOTP digits, most", api.HOTPOptions{}, "Digits", "maximum", otp.MaxDigits},
		{"period, least", api.TOTPOptions{}, "Period", "minimum", otp.MinPeriod},
		{"period, most", api.TOTPOptions{}, "Period", "maximum", otp.MaxPeriod},
		{"skew", api.VerifyRequest{}, "Skew", "maximum", otp.MaxSkew},
		{"skew_past", api.VerifyRequest{}, "SkewPast", "maximum", otp.MaxSkew},
		{"skew_future", api.VerifyRequest{}, "SkewFuture", "maximum", otp.MaxSkew},
		{"look-ahead", api.HOTPVerifyRequest{}, "LookAhead", "maximum", otp.MaxLookAhead},
		{"resync look-ahead", api.HOTPResyncRequest{}, "LookAhead", "maximum", otp.MaxResyncLookAhead},
		{"client of a verification", api.VerifyRequest{}, "Client", "maxLength", guard.MaxClientLen},
		{"client of an HOTP verification", api.HOTPVerifyRequest{}, "Client", "maxLength", guard.MaxClientLen},
		{"client of a resync", api.HOTPResyncRequest{}, "Client", "maxLength", guard.MaxClientLen},
		{"context of a sealed secret", api.SecretForm{}, "Context", "maxLength", otp.MaxContextLen},
		{"context to seal with", api.SealRequest{}, "Context", "maxLength", otp.MaxContextLen},
		{"context to reseal", api.ResealRequest{}, "Context", "maxLength", otp.MaxContextLen},
		{"QR size, least", api.QRRequest{}, "Size", "minimum", otp.MinQRSize},
		{"QR size, most", api.QRRequest{}, "Size", "maximum", otp.MaxQRSize},
		{"challenge digits, least", api.ChallengeRequest{}, "Digits", "minimum", challenge.MinDigits},
		{"challenge digits, most", api.ChallengeRequest{}, "Digits", "maximum", challenge.MaxDigits},
		{"challenge ttl, least", api.ChallengeRequest{}, "TTL", "minimum", seconds(challenge.MinTTL)},
		{"challenge ttl, most", api.ChallengeRequest{}, "TTL", "maximum", seconds(challenge.MaxTTL)},
		{"recovery codes", api.RecoveryCodesRequest{}, "Count", "maximum", recovery.MaxCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := reflect.TypeOf(tt.typ).FieldByName(tt.field)
			if !assert.True(t, ok, "no field %s", tt.field) {
				return
			}
			got, err := strconv.Atoi(f.Tag.Get(tt.tag))
			assert.NoError(t, err, "%s has no %s tag", tt.field, tt.tag)
			assert.Equal(t, tt.want, got)
		})
	}
}
