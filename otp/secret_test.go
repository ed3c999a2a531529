package otp_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/otp"
)

func TestDecode(t *testing.T) {
	key := []byte("12345678901234567890")
	tests := []struct {
		name    string
		enc     otp.Encoding
		give    string
		want    []byte
		wantErr error
	}{
		{"base32", otp.Base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", key, nil},
		{"base32 lower case", otp.Base32, "gezdgnbvgy3tqojqgezdgnbvgy3tqojq", key, nil},
		{"base32 spaced in fours", otp.Base32, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", key, nil},
		{"base32 hyphens", otp.Base32, "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ", key, nil},
		{"base32 padded", otp.Base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE======", append(key, '1'), nil},
		{"base32 unpadded odd length", otp.Base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE", append(key, '1'), nil},
		{"base32 bad letter", otp.Base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", nil, otp.ErrInvalidSecret},
		{"hex", otp.Hex, "3132333435363738393031323334353637383930", key, nil},
		{"hex upper case", otp.Hex, "3132333435363738393031323334353637383930", key, nil},
		{"hex odd", otp.Hex, "313", nil, otp.ErrInvalidSecret},
		{"base64 std", otp.Base64, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", key, nil},
		{"base64 unpadded", otp.Base64, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA", key, nil},
		{"base64 url alphabet", otp.Base64, "-_-_-_-_-_-_-_-_", []byte{0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf}, nil},
		{"base64 std alphabet", otp.Base64, "+/+/+/+/+/+/+/+/", []byte{0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf}, nil},
		{"base64 garbage", otp.Base64, "!!!!", nil, otp.ErrInvalidSecret},
		{"ascii", otp.ASCII, "12345678901234567890", key, nil},
		{"too short", otp.Base32, "GEZDGNBVGY3TQOI", nil, otp.ErrSecretTooShort},
		{"ascii too long", otp.ASCII, string(bytes.Repeat([]byte("a"), otp.MaxKeyLen+1)), nil, otp.ErrSecretTooLong},
		{"empty", otp.Base32, "", nil, otp.ErrSecretTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.enc.Decode(tt.give)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	key, err := otp.GenerateSecret(rand.Reader, otp.DefaultGenerateLen)
	require.NoError(t, err)
	for _, enc := range []otp.Encoding{otp.Base32, otp.Hex, otp.Base64} {
		t.Run(string(enc), func(t *testing.T) {
			text, err := enc.Encode(key)
			require.NoError(t, err)
			got, err := enc.Decode(text)
			require.NoError(t, err)
			assert.Equal(t, key, got)
		})
	}
	_, err = otp.ASCII.Encode(key)
	assert.ErrorIs(t, err, otp.ErrCannotEncode)
}

func TestGenerateSecret(t *testing.T) {
	for _, n := range []int{otp.MinGenerateLen, 20, otp.MaxGenerateLen} {
		key, err := otp.GenerateSecret(rand.Reader, n)
		require.NoError(t, err)
		assert.Len(t, key, n)
	}
	a, _ := otp.GenerateSecret(rand.Reader, 20)
	b, _ := otp.GenerateSecret(rand.Reader, 20)
	assert.NotEqual(t, a, b)

	for _, n := range []int{0, otp.MinGenerateLen - 1, otp.MaxGenerateLen + 1} {
		_, err := otp.GenerateSecret(rand.Reader, n)
		assert.ErrorIs(t, err, otp.ErrInvalidLength)
	}
	_, err := otp.GenerateSecret(bytes.NewReader(nil), 20)
	assert.Error(t, err)
}

func TestParseEncoding(t *testing.T) {
	for give, want := range map[string]otp.Encoding{"": otp.Base32, "BASE32": otp.Base32, "hex": otp.Hex, "Base64": otp.Base64, "ascii": otp.ASCII} {
		got, err := otp.ParseEncoding(give)
		require.NoError(t, err, give)
		assert.Equal(t, want, got)
	}
	_, err := otp.ParseEncoding("base58")
	assert.True(t, errors.Is(err, otp.ErrUnknownEncoding))
}
