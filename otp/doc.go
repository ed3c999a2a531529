// Package otp is the TOTP domain of the service: secrets and their
// encodings, RFC 6238 time-based codes over RFC 4226 HOTP, verification that
// reports the matched step, and the otpauth:// Key URI with its QR image.
//
// It knows nothing of HTTP. Times and randomness are always passed in, so
// callers (and tests) own the clock.
//
// Codes are computed here rather than through pquerna/otp's
// GenerateCodeCustom, which decodes the secret, builds an HMAC and formats a
// string on every call; pquerna/otp stays the reference the tests compare
// against, and the source of QR images.
package otp
