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
// apps show a '+' literally, and so does pquerna's NewKeyFromURL, which
// reads the label as a path, where '+' is a plus.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// KeyURI returns the otpauth://totp Key URI that authenticator apps enrol
// from: label "issuer:account", the secret in unpadded base32, and the issuer,
// algorithm, digits and period as parameters. The issuer may be empty; the
// account may not, and neither may contain a colon.
//
// pquerna's totp.Generate is not used for it: it refuses an empty issuer,
// and puts an issuer's colon into the label unchecked, where its own
// NewKeyFromURL then splits the label at the wrong place.
//
// With a counter it is an otpauth://hotp URI carrying it, without period.
func KeyURI(account, issuer string, secret []byte, p Params, counter *uint64) (string, error) {
	if account == "" {
		return "", field("account", ErrEmptyAccount)
	}
	if err := CheckLabels(account, issuer); err != nil {
		return "", err
	}
	if err := checkKeyLen(secret); err != nil {
		return "", field("secret", err)
	}
	if err := p.Validate(); err != nil {
		return "", err
	}
	secretText, _ := Base32.Encode(secret)

	var b strings.Builder
	if counter != nil {
		b.WriteString("otpauth://hotp/")
	} else {
		b.WriteString("otpauth://totp/")
	}
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
	if counter != nil {
		b.WriteString("&counter=")
		b.WriteString(strconv.FormatUint(*counter, 10))
	} else {
		b.WriteString("&period=")
		b.WriteString(strconv.Itoa(p.Period))
	}
	if p.Encoder != EncoderDefault {
		// pquerna's Key.Encoder reads it; Steam's own apps need no URI.
		b.WriteString("&encoder=")
		b.WriteString(string(p.Encoder))
	}
	return b.String(), nil
}

// MaxLabelLen bounds account and issuer, in bytes.
const MaxLabelLen = 256

// CheckLabels bounds account and issuer, and refuses the colon that
// separates them in a Key URI label. Its errors are *FieldError naming
// "account" or "issuer".
func CheckLabels(account, issuer string) error {
	for _, l := range []struct{ name, value string }{{"account", account}, {"issuer", issuer}} {
		switch {
		case len(l.value) > MaxLabelLen:
			return field(l.name, ErrLabelTooLong)
		case strings.Contains(l.value, ":"):
			return field(l.name, ErrColonInLabel)
		}
	}
	return nil
}

// QR returns a size×size PNG of a QR code that carries uri, drawn by
// pquerna's Key.Image. Its size errors are *FieldError naming field.
func QR(uri string, size int, sizeField string) ([]byte, error) {
	if size < MinQRSize || size > MaxQRSize {
		return nil, field(sizeField, ErrInvalidQRSize)
	}
	key, err := potp.NewKeyFromURL(uri)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(size, size)
	if err != nil {
		// barcode.Scale fails when the code has more modules than pixels.
		return nil, field(sizeField, ErrInvalidQRSize)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
