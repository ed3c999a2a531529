package otp_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/otp"
)

// TestQRScans reads the QR code back, as a phone's camera would, at the
// smallest and the default size, for a short and a long Key URI.
func TestQRScans(t *testing.T) {
	short, err := otp.KeyURI("alice@example.com", "Acme", []byte("12345678901234567890"), otp.DefaultParams, nil)
	require.NoError(t, err)
	long, err := otp.KeyURI("a very long account name of somebody@example.com", "Acme Corporation International", bytes.Repeat([]byte{0xa5}, otp.MaxGenerateLen), otp.Params{Algorithm: otp.SHA512, Digits: 8, Period: 60}, nil)
	require.NoError(t, err)
	for _, uri := range []string{short, long} {
		for _, size := range []int{otp.DefaultQRSize, otp.MaxQRSize} {
			b, err := otp.QR(uri, size, "size")
			require.NoError(t, err)
			img, err := png.Decode(bytes.NewReader(b))
			require.NoError(t, err)
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			require.NoError(t, err)
			got, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
			require.NoError(t, err, "size %d", size)
			assert.Equal(t, uri, got.GetText())
		}
	}
}
