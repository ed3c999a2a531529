package guard

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/acme/totp/otp"
)

// TestFingerprintIsHMACSHA256 pins the fingerprint's construction: instances
// of two versions sharing one Redis during a rolling upgrade must name a
// secret alike, or a code used on one is accepted again on the other.
func TestFingerprintIsHMACSHA256(t *testing.T) {
	tests := []struct {
		name   string
		key    []byte
		secret []byte
		params otp.Params
	}{
		{"short key", []byte("k"), []byte("12345678901234567890"), otp.DefaultParams},
		{"block-size key", bytes.Repeat([]byte("k"), sha256.BlockSize), []byte("12345678901234567890"), otp.Params{Algorithm: otp.SHA256, Digits: 8, Period: 60}},
		{"long key, longest secret", bytes.Repeat([]byte("k"), 100), bytes.Repeat([]byte{0xff}, otp.MaxKeyLen), otp.Params{Algorithm: otp.SHA512, Digits: 7, Period: 3600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mac := hmac.New(sha256.New, tt.key)
			mac.Write(tt.secret)
			want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

			v := New(Options{Key: tt.key})
			assert.Equal(t, want, v.fingerprint(nil, tt.secret))
			assert.NotEqual(t, useName(kindTOTP, tt.params), useName(kindHOTP, tt.params), "HOTP uses are named apart")
		})
	}
}
