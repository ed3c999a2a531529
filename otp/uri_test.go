package otp_test

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	potp "github.com/pquerna/otp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
)

func TestKeyURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		name    string
		account string
		issuer  string
		params  otp.Params
		want    string
	}{
		{"defaults", "alice@example.com", "Acme",
			otp.DefaultParams,
			"otpauth://totp/Acme:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme&algorithm=SHA1&digits=6&period=30"},
		{"spaces and specials", "Alice Smith", "Acme & Co/Ltd",
			otp.Params{Algorithm: otp.SHA256, Digits: 8, Period: 60},
			"otpauth://totp/Acme%20%26%20Co%2FLtd:Alice%20Smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20%26%20Co%2FLtd&algorithm=SHA256&digits=8&period=60"},
		{"no issuer", "bob", "",
			otp.DefaultParams,
			"otpauth://totp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := otp.KeyURI(tt.account, tt.issuer, secret, tt.params, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "+")

			// pquerna's own parser reads back what we wrote.
			key, err := potp.NewKeyFromURL(got)
			require.NoError(t, err)
			assert.Equal(t, "totp", key.Type())
			assert.Equal(t, tt.account, key.AccountName())
			assert.Equal(t, tt.issuer, key.Issuer())
			assert.Equal(t, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", key.Secret())
			assert.Equal(t, uint64(tt.params.Period), key.Period())
			assert.Equal(t, tt.params.Digits, key.Digits().Length())
		})
	}
}

func TestKeyURIRejects(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		name      string
		account   string
		issuer    string
		want      error
		wantField string
	}{
		{"colon in account", "a:b", "Acme", otp.ErrColonInLabel, "account"},
		// pquerna's NewKeyFromURL would split "Ac:me:a" at the issuer's colon.
		{"colon in issuer", "a", "Ac:me", otp.ErrColonInLabel, "issuer"},
		{"empty account", "", "Acme", otp.ErrEmptyAccount, "account"},
		{"long account", strings.Repeat("a", otp.MaxLabelLen+1), "Acme", otp.ErrLabelTooLong, "account"},
		{"long issuer", "a", strings.Repeat("a", otp.MaxLabelLen+1), otp.ErrLabelTooLong, "issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := otp.KeyURI(tt.account, tt.issuer, secret, otp.DefaultParams, nil)
			assert.ErrorIs(t, err, tt.want)
			var fe *fault.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.wantField, fe.Field)
		})
	}
}

func TestQR(t *testing.T) {
	uri, err := otp.KeyURI("alice@example.com", "Acme", []byte("12345678901234567890"), otp.DefaultParams, nil)
	require.NoError(t, err)
	for _, size := range []int{otp.MinQRSize, otp.DefaultQRSize, 300} {
		b, err := otp.QR(uri, size, "size")
		require.NoError(t, err)
		img, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		assert.Equal(t, size, img.Bounds().Dx())
		assert.Equal(t, size, img.Bounds().Dy())
	}
	for _, size := range []int{0, otp.MinQRSize - 1, otp.MaxQRSize + 1} {
		_, err := otp.QR(uri, size, "size")
		assert.ErrorIs(t, err, otp.ErrInvalidQRSize)
		var fe *fault.Error
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "size", fe.Field)
	}
}
