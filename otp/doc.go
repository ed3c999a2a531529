// Package otp is the TOTP domain of the service: secrets and their
// encodings, RFC 6238 time-based codes, verification that reports the
// matched step, and the otpauth:// Key URI with its QR image.
//
// It wraps pquerna/otp, which makes every code (hotp.GenerateCodeCustom)
// and draws every QR image (Key.Image); this package adds what pquerna
// leaves to its callers: secrets in other encodings than base32, bounds on
// every parameter, the matched step and drift of a verification, and a
// clock that never yields a negative counter.
//
// It knows nothing of HTTP. Times and randomness are always passed in, so
// callers (and tests) own the clock. Errors about one input carry its name
// as a *FieldError.
package otp
