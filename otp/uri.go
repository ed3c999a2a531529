package otp

import (
	"bytes"
	"image/png"
	"net/url"
	"strconv"
	"strings"

	potp "github.com/pquerna/otp"
)

// QR image bounds, in pixels.
const (
	MinQRSize     = 64
	MaxQRSize     = 1024
	DefaultQRSize = 256
)

// escape percent-encodes s per RFC 3986, spaces as %20: some authenticator
// apps show a '+' literally.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// KeyURI returns the otpauth://totp Key URI that authenticator apps enrol
// from: label "issuer:account", the secret in unpadded base32, and the issuer,
// algorithm, digits and period as parameters. The issuer may be empty; the
// account may not, and neither may contain a colon.
func KeyURI(account, issuer string, secret []byte, p Params) (string, error) {
	if account == "" {
		return "", ErrEmptyAccount
	}
	if err := CheckLabel(account); err != nil {
		return "", err
	}
	if err := CheckLabel(issuer); err != nil {
		return "", err
	}
	if err := checkKeyLen(secret); err != nil {
		return "", err
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	secretText, _ := Base32.Encode(secret)

	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escape(issuer))
		b.WriteString(":")
	}
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(secretText)
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=")
	b.WriteString(string(p.Algorithm))
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(p.Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(p.Period))
	return b.String(), nil
}

// CheckLabel reports ErrColonInLabel when an issuer or account name holds the
// colon that separates them in a Key URI label.
func CheckLabel(name string) error {
	if strings.Contains(name, ":") {
		return ErrColonInLabel
	}
	return nil
}

// QR returns a size×size PNG of a QR code that carries uri.
func QR(uri string, size int) ([]byte, error) {
	if size < MinQRSize || size > MaxQRSize {
		return nil, ErrInvalidQRSize
	}
	key, err := potp.NewKeyFromURL(uri)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(size, size)
	if err != nil {
		// barcode.Scale fails when the code has more modules than pixels.
		return nil, ErrInvalidQRSize
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
