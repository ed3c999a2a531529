// Package api holds the request and response types of the TOTP service's
// HTTP API, shared by the handlers that serve them and the client that
// sends them, so the two cannot drift. It has no dependency beyond the
// standard library.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Problem is an RFC 9457 problem details answer, the one shape of every 4xx
// and 5xx. Code is stable and meant for programs; Detail is for people and
// never echoes a secret or a token.
type Problem struct {
	Type   string `json:"type" example:"urn:totp:problem:invalid_parameter" validate:"required"`
	Title  string `json:"title" example:"Bad Request" validate:"required"`
	Status int    `json:"status" example:"400" validate:"required"`
	Detail string `json:"detail" example:"digits must be 6, 7 or 8" validate:"required"`
	Code   string `json:"code" example:"invalid_parameter" validate:"required"`
	Field  string `json:"field,omitempty" example:"digits"`
	// Scope is the scope the API key lacks, with insufficient_scope.
	Scope string `json:"scope,omitempty" example:"verify"`
	// ProviderCode is the email or SMS provider's code for its refusal,
	// with delivery_failed: an SMTP reply code (550), Twilio's error (21211).
	ProviderCode string `json:"provider_code,omitempty" example:"21211"`
}

// Error makes a Problem usable as an error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// Stable problem codes.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidSecret    = "invalid_secret"
	CodeInvalidParameter = "invalid_parameter"
	CodeMissingField     = "missing_field"
	CodeUnknownField     = "unknown_field"
	CodeBodyTooLarge     = "body_too_large"
	// CodeUnsupportedMediaType: a body sent with a Content-Type other than JSON.
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeTooManyAttempts      = "too_many_attempts"
	CodeStoreUnavailable     = "store_unavailable"
	// CodeShuttingDown: /readyz of an instance that has been told to stop
	// and is answering its last requests.
	CodeShuttingDown = "shutting_down"
	// CodeStoreFull: the in-memory guard store holds all the live records
	// it may; see Retry-After.
	CodeStoreFull = "store_full"
	// CodeBusy: as many QR codes are being drawn as the instance allows; see
	// Retry-After.
	CodeBusy         = "busy"
	CodeUnauthorized = "unauthorized"
	// CodeInsufficientScope: the API key lacks the scope the route needs;
	// scope names it.
	CodeInsufficientScope = "insufficient_scope"
	// CodeRateLimited: the API key holds its whole share of the guard
	// store (GUARD_KEY_SHARE); other keys are not affected. See
	// Retry-After.
	CodeRateLimited = "rate_limited"
	// CodeInvalidSealed: a sealed secret that does not open, whatever the
	// cause (changed, truncated, another key or context). field is "sealed".
	CodeInvalidSealed = "invalid_sealed"
	// CodeSealingNotConfigured: sealing or opening asked of an instance
	// started without SEAL_KEYS.
	CodeSealingNotConfigured = "sealing_not_configured"
	// CodeInvalidURI: a uri that is not a usable otpauth://totp Key URI.
	CodeInvalidURI = "invalid_uri"
	// CodeConflictingField: a field that cannot come with another, such
	// as digits beside sealed (the seal carries them). field names it.
	CodeConflictingField = "conflicting_field"
	CodeGuardOff         = "guard_off"
	CodeInternal         = "internal"
	// CodeDeliveryFailed: the email or SMS provider refused the message;
	// provider_code names its reason (an SMTP reply code, Twilio's error).
	CodeDeliveryFailed = "delivery_failed"
	// CodeDeliveryUnavailable: the provider could not be reached within
	// DELIVERY_TIMEOUT; nothing was sent.
	CodeDeliveryUnavailable = "delivery_unavailable"
	// CodeDeliveryNotConfigured: a channel this instance was not
	// configured for.
	CodeDeliveryNotConfigured = "delivery_not_configured"
	// CodeTooManySends: the challenge was sent again too soon, or its
	// destination got as many codes as it may in 10 minutes; see
	// Retry-After.
	CodeTooManySends = "too_many_sends"
	// CodeInvalidOTP: the email OTP service's verify got a wrong, expired
	// or used code, or a token that does not check; detail says which.
	CodeInvalidOTP = "invalid_otp"
	// CodeTrustNotConfigured: trusted-device tokens asked of an instance
	// started without TRUST_KEYS.
	CodeTrustNotConfigured = "trust_not_configured"
	// CodeInvalidChallenge: a challenge to resend that does not open, is
	// another subject's or purpose's, has expired, or was not sent by
	// this service.
	CodeInvalidChallenge = "invalid_challenge"
)

// TOTPOptions are the options every endpoint that takes a secret accepts.
// All are optional; a zero value is never taken for a default, so an
// explicit "digits": 0 is an error rather than 6.
type TOTPOptions struct {
	// Encoding is how secret is written; for POST routes it may also come as
	// the query parameter encoding, and the body wins.
	Encoding string `json:"encoding,omitempty" enums:"base32,hex,base64,ascii" example:"base32"`
	// Algorithm is the HMAC hash, case-insensitive.
	Algorithm string `json:"algorithm,omitempty" enums:"SHA1,SHA256,SHA512" example:"SHA1"`
	// Digits is the code length: 6, 7 or 8, or 5 with the steam encoder.
	Digits *int `json:"digits,omitempty" minimum:"5" maximum:"8" example:"6"`
	// Period is the seconds per step.
	Period *int `json:"period,omitempty" minimum:"1" maximum:"3600" example:"30"`
	// Encoder is how codes are written: digits, or Steam Guard's five
	// characters (digits then defaults to, and must be, 5).
	Encoder string `json:"encoder,omitempty" enums:"default,steam" example:"default"`
}

// HOTPOptions are the options of the HOTP routes: TOTP's, less the period.
type HOTPOptions struct {
	Encoding  string `json:"encoding,omitempty" enums:"base32,hex,base64,ascii" example:"base32"`
	Algorithm string `json:"algorithm,omitempty" enums:"SHA1,SHA256,SHA512" example:"SHA1"`
	Digits    *int   `json:"digits,omitempty" minimum:"5" maximum:"8" example:"6"`
	Encoder   string `json:"encoder,omitempty" enums:"default,steam" example:"default"`
}

// HOTPTokenRequest asks for the RFC 4226 code of a counter.
type HOTPTokenRequest struct {
	Secret  string  `json:"secret" example:"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" validate:"required"`
	Counter *uint64 `json:"counter" example:"42" validate:"required"`
	HOTPOptions
}

// HOTPTokenResponse is the code of a counter.
type HOTPTokenResponse struct {
	Token   string `json:"token" example:"287082" validate:"required"`
	Counter uint64 `json:"counter" example:"42" validate:"required"`
}

// HOTPVerifyRequest asks whether a code is one of the counters from
// counter to counter+look_ahead.
type HOTPVerifyRequest struct {
	Secret string `json:"secret" example:"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" validate:"required"`
	Token  Token  `json:"token" swaggertype:"string" example:"287082" validate:"required"`
	// Counter is the next counter the caller expects: the next_counter it
	// stored from the last accepted code (0 for a new token).
	Counter *uint64 `json:"counter" example:"42" validate:"required"`
	// LookAhead is how many counters past counter are tried too.
	LookAhead *int `json:"look_ahead,omitempty" minimum:"0" maximum:"100" example:"10"`
	// Client is the end user's IP address or device ID as the caller
	// knows it (opaque, at most 128 bytes): wrong codes then lock this
	// client of the secret, and the secret itself only past a ceiling over
	// all its clients, so an attacker cannot lock the user out.
	Client string `json:"client,omitempty" maxLength:"128" example:"203.0.113.7"`
	HOTPOptions
}

// HOTPResyncRequest asks for the counter after two codes typed in a row.
type HOTPResyncRequest struct {
	Secret  string  `json:"secret" example:"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" validate:"required"`
	Token   Token   `json:"token" swaggertype:"string" example:"287082" validate:"required"`
	Token2  Token   `json:"token2" swaggertype:"string" example:"359152" validate:"required"`
	Counter *uint64 `json:"counter" example:"42" validate:"required"`
	// LookAhead is how many counters past counter the first code is
	// looked for.
	LookAhead *int `json:"look_ahead,omitempty" minimum:"0" maximum:"1000" example:"100"`
	// Client is the end user's IP address or device ID as the caller
	// knows it (opaque, at most 128 bytes): wrong codes then lock this
	// client of the secret, and the secret itself only past a ceiling over
	// all its clients, so an attacker cannot lock the user out.
	Client string `json:"client,omitempty" maxLength:"128" example:"203.0.113.7"`
	HOTPOptions
}

// HOTPVerifyResponse says whether a code (or, for a resync, the two codes
// in a row) matched, at which counter, and the counter to store next.
type HOTPVerifyResponse struct {
	Valid  bool   `json:"valid" example:"true" validate:"required"`
	Reason string `json:"reason,omitempty" enums:"mismatch,malformed,replayed" example:"mismatch"`
	// Counter is the matched counter (for a resync, the second code's).
	Counter *uint64 `json:"counter,omitempty" example:"45"`
	// NextCounter is counter+1: store it and send it as counter next time.
	NextCounter *uint64 `json:"next_counter,omitempty" example:"46"`
}

// SecretQuery is the query of GET /generate/secret; zero fields are left out.
type SecretQuery struct {
	Length    int    // random bytes, 16 to 128
	Encoding  string // base32, hex or base64
	Account   string // with it the answer carries the Key URI
	Issuer    string
	Algorithm string
	Digits    int
	Period    int
	QR        int // with it (and Account) the answer carries a QR PNG of this size
	Encoder   string
	// Type "hotp" makes the Key URI otpauth://hotp with Counter.
	Type    string
	Counter uint64
	// Seal adds the sealed secret, bound to Context.
	Seal    bool
	Context string
}

// Values encodes q as query parameters.
func (q SecretQuery) Values() url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" && value != "0" {
			v.Set(name, value)
		}
	}
	set("length", strconv.Itoa(q.Length))
	set("encoding", q.Encoding)
	set("account", q.Account)
	set("issuer", q.Issuer)
	set("algorithm", q.Algorithm)
	set("digits", strconv.Itoa(q.Digits))
	set("period", strconv.Itoa(q.Period))
	set("qr", strconv.Itoa(q.QR))
	set("encoder", q.Encoder)
	set("type", q.Type)
	if q.Type == "hotp" {
		v.Set("counter", strconv.FormatUint(q.Counter, 10))
	}
	if q.Seal {
		v.Set("seal", "true")
	}
	set("context", q.Context)
	return v
}

// SecretForm is a TOTP secret in one of its three forms, as the TOTP
// routes take it: send exactly one of secret, sealed and uri.
type SecretForm struct {
	// Secret is the secret in the clear, written in encoding; the TOTP
	// options say how its codes are made. Send one of secret, sealed and uri.
	Secret string `json:"secret,omitempty" example:"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"`
	// Sealed is a secret sealed by this service (by /seal, or by
	// /generate/secret with seal=true). It carries its options: none may
	// come beside it.
	Sealed string `json:"sealed,omitempty" example:"s1.2026-11.Yx3f..."`
	// Context is what sealed was sealed with (the user's immutable ID),
	// sent again with every use; required with sealed unless the service
	// runs with SEAL_CONTEXT=optional.
	Context string `json:"context,omitempty" maxLength:"1024" example:"user-42"`
	// URI is an otpauth://totp Key URI, whose secret, algorithm, digits and
	// period apply (defaults SHA1, 6, 30): no option may come beside it.
	URI string `json:"uri,omitempty" example:"otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme"`
}

// Clear is the form of a secret in the clear.
func Clear(secret string) SecretForm { return SecretForm{Secret: secret} }

// SealedBy is the form of a sealed secret and the context it was sealed with.
func SealedBy(sealed, context string) SecretForm { return SecretForm{Sealed: sealed, Context: context} }

// FromURI is the form of a secret in a Key URI.
func FromURI(uri string) SecretForm { return SecretForm{URI: uri} }

// TokenRequest asks for the current code of a secret.
type TokenRequest struct {
	SecretForm
	TOTPOptions
}

// VerifyRequest asks whether a code is valid for a secret now.
type VerifyRequest struct {
	SecretForm
	// Token is the code: a string, or a number that is left-padded with
	// zeros to digits. Spaces inside a string are ignored.
	Token Token `json:"token" swaggertype:"string" example:"123456" validate:"required"`
	// Skew is how many steps before and after now are accepted.
	Skew *int `json:"skew,omitempty" minimum:"0" maximum:"10" example:"1"`
	// SkewPast is how many steps before now are accepted, set apart from
	// skew_future instead of skew (0 when left out).
	SkewPast *int `json:"skew_past,omitempty" minimum:"0" maximum:"10" example:"1"`
	// SkewFuture is how many steps after now are accepted, set apart from
	// skew_past instead of skew (0 when left out).
	SkewFuture *int `json:"skew_future,omitempty" minimum:"0" maximum:"10" example:"0"`
	// AfterStep refuses any match at or before this step (reason stale):
	// store the step of each accepted code and send it here, and a code
	// can never be used twice, even with the guard off.
	AfterStep *uint64 `json:"after_step,omitempty" example:"56991233"`
	// Client is the end user's IP address or device ID as the caller
	// knows it (opaque, at most 128 bytes): wrong codes then lock this
	// client of the secret, and the secret itself only past a ceiling over
	// all its clients, so an attacker cannot lock the user out.
	Client string `json:"client,omitempty" maxLength:"128" example:"203.0.113.7"`
	TOTPOptions
}

// QRRequest asks for the enrolment QR code of a secret the caller holds.
type QRRequest struct {
	SecretForm
	// Account labels the code in the app; with uri it defaults to the URI's.
	Account string `json:"account,omitempty" example:"alice@example.com"`
	Issuer  string `json:"issuer,omitempty" example:"Acme"`
	// Size is the PNG's width and height in pixels.
	Size *int `json:"size,omitempty" minimum:"64" maximum:"1024" example:"256"`
	TOTPOptions
}

// SecretResponse is a new secret, with its Key URI and QR code when an
// account was given.
type SecretResponse struct {
	Secret   string `json:"secret" example:"PXMYHHMGR6EVMGVASNGMF4IXAI4UCT3I" validate:"required"`
	Encoding string `json:"encoding" example:"base32" validate:"required"`
	// Length is the number of random bytes.
	Length int `json:"length" example:"20" validate:"required"`
	// URI is the otpauth:// Key URI, secret in unpadded base32.
	URI string `json:"uri,omitempty" example:"otpauth://totp/Acme:alice%40example.com?secret=PXMYHHMGR6EVMGVASNGMF4IXAI4UCT3I&issuer=Acme&algorithm=SHA1&digits=6&period=30"`
	// QR is a PNG of URI as a data URI.
	QR string `json:"qr,omitempty" example:"data:image/png;base64,iVBORw0KGgo..."`
	// Sealed is the secret and its options sealed (with seal=true): store
	// it, and key_id, instead of the secret.
	Sealed string `json:"sealed,omitempty" example:"s1.2026-11.Yx3f..."`
	// KeyID names the key that sealed it, to find what to reseal after a rotation.
	KeyID string `json:"key_id,omitempty" example:"2026-11"`
	// Warnings name options some authenticator apps ignore.
	Warnings []string `json:"warnings,omitempty" enums:"nonstandard_algorithm,nonstandard_digits,nonstandard_period" example:"nonstandard_digits"`
}

// SealRequest asks for a secret held in the clear, or in a Key URI, to be
// sealed, for storing it safely.
type SealRequest struct {
	Secret string `json:"secret,omitempty" example:"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"`
	URI    string `json:"uri,omitempty" example:"otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme"`
	// Context is bound to the seal: every use must send it again. Use the
	// user's ID, so a sealed secret copied to another row does not work.
	Context string `json:"context,omitempty" maxLength:"1024" example:"user-42"`
	TOTPOptions
}

// SealResponse is a sealed secret.
type SealResponse struct {
	Sealed string `json:"sealed" example:"s1.2026-11.Yx3f..." validate:"required"`
	KeyID  string `json:"key_id" example:"2026-11" validate:"required"`
	// Warnings name options some authenticator apps ignore.
	Warnings []string `json:"warnings,omitempty" enums:"nonstandard_algorithm,nonstandard_digits,nonstandard_period" example:"nonstandard_digits"`
}

// ResealRequest asks for a sealed secret under the key that seals now.
type ResealRequest struct {
	Sealed  string `json:"sealed" example:"s1.2025-05.Q2x9..." validate:"required"`
	Context string `json:"context,omitempty" maxLength:"1024" example:"user-42"`
}

// ResealResponse is the secret sealed under the first key.
type ResealResponse struct {
	Sealed string `json:"sealed" example:"s1.2026-11.Yx3f..." validate:"required"`
	KeyID  string `json:"key_id" example:"2026-11" validate:"required"`
	// Rotated is false when sealed already was under the first key; it
	// then comes back unchanged.
	Rotated bool `json:"rotated" example:"true" validate:"required"`
}

// TokenResponse is the code in force now.
type TokenResponse struct {
	Token string `json:"token" example:"017724" validate:"required"`
	// Remaining is the whole seconds before the code changes, 1 to period.
	Remaining int `json:"remaining" example:"29" validate:"required"`
	Period    int `json:"period" example:"30" validate:"required"`
	// Step is the RFC 6238 counter, floor(unix time / period).
	Step uint64 `json:"step" example:"56991234" validate:"required"`
}

// VerifyResponse says whether a code is valid.
type VerifyResponse struct {
	Valid bool `json:"valid" example:"true" validate:"required"`
	// Reason says why a code is not valid: mismatch (wrong code), malformed
	// (wrong length or a non-digit), replayed (this code or a later one was
	// already accepted), stale (at or before after_step).
	Reason string `json:"reason,omitempty" enums:"mismatch,malformed,replayed,stale" example:"mismatch"`
	// Remaining is the whole seconds left in the current step.
	Remaining int `json:"remaining" example:"18" validate:"required"`
	// Step is the matched counter, when valid.
	Step *uint64 `json:"step,omitempty" example:"56991234"`
	// Drift is the matched step minus the current one, when valid.
	Drift *int64 `json:"drift,omitempty" example:"0"`
}

// ReadyResponse is the readiness answer.
type ReadyResponse struct {
	Status string `json:"status" example:"ready" validate:"required"`
}

// HealthResponse is the liveness answer.
type HealthResponse struct {
	Status  string `json:"status" example:"ok" validate:"required"`
	Version string `json:"version" example:"v1.2.0" validate:"required"`
}

// ChallengeRequest asks for a code to send by email or SMS.
type ChallengeRequest struct {
	// Subject is whom the code goes to: an email address, a phone number.
	Subject string `json:"subject" example:"user@example.com" validate:"required"`
	// Purpose binds the code to one use, e.g. login or signup.
	Purpose string `json:"purpose,omitempty" example:"login"`
	Digits  *int   `json:"digits,omitempty" minimum:"4" maximum:"10" example:"6"`
	// TTL is the seconds the code stays valid.
	TTL *int `json:"ttl,omitempty" minimum:"30" maximum:"900" example:"600"`
	// Channel, when set, makes the service send the code to subject
	// itself (an email address for email, an E.164 number for sms, as the
	// gateway takes it for webhook) and answer without it.
	Channel string `json:"channel,omitempty" enums:"email,sms,webhook" example:"email"`
	// Locale picks the message's language (en, de; others fall back on
	// en), with channel.
	Locale string `json:"locale,omitempty" maxLength:"16" example:"en"`
}

// The channels a challenge's code may go by, as ChallengeRequest names
// them: the service then sends it itself.
const (
	ChannelEmail   = "email"
	ChannelSMS     = "sms"
	ChannelWebhook = "webhook"
)

// ChallengeResponse is a new code and its sealed challenge.
type ChallengeResponse struct {
	// Challenge is opaque: hand it to the client, which sends it back with
	// the code the user typed.
	Challenge string `json:"challenge" example:"AXq3..." validate:"required"`
	// Code is for the subject only: deliver it by your mailer or SMS
	// gateway. Absent when the service delivered it (channel).
	Code      string `json:"code,omitempty" example:"482913"`
	ExpiresIn int    `json:"expires_in" example:"600" validate:"required"`
	ExpiresAt string `json:"expires_at" example:"2026-11-22T18:40:00Z" validate:"required"`
	// Delivery says how the service sent the code, with channel.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// Delivery is how the service sent a code.
type Delivery struct {
	Channel string `json:"channel" enums:"email,sms,webhook" example:"email" validate:"required"`
	// To is the destination, masked.
	To     string `json:"to" example:"a***@example.com" validate:"required"`
	Status string `json:"status" enums:"sent" example:"sent" validate:"required"`
	// ID is the provider's ID of the message: an email's Message-ID,
	// Twilio's sid, the webhook body's id.
	ID string `json:"id" example:"SM1f0e8ae6ade43cb3c0ce4525424e404f" validate:"required"`
}

// ChallengeResendRequest sends a challenge's code again, the same way.
type ChallengeResendRequest struct {
	Challenge string `json:"challenge" example:"AXq3..." validate:"required"`
	Subject   string `json:"subject" example:"user@example.com" validate:"required"`
	Purpose   string `json:"purpose,omitempty" example:"login"`
	Locale    string `json:"locale,omitempty" maxLength:"16" example:"en"`
}

// TrustRequest asks for a trusted-device token, once the user passed the
// second factor on that device.
type TrustRequest struct {
	// Subject is the user's immutable ID.
	Subject string `json:"subject" maxLength:"320" example:"user-42" validate:"required"`
	// Device is an opaque ID the caller keeps in the device's cookie.
	Device string `json:"device" maxLength:"128" example:"d-7f3a9c" validate:"required"`
	// Epoch is a number the caller keeps per user (0 when left out):
	// raising it revokes every token of the user.
	Epoch uint64 `json:"epoch,omitempty" example:"0"`
	// TTL is the seconds the token holds, each check sliding it by as
	// much again (30 days when left out).
	TTL *int `json:"ttl,omitempty" minimum:"3600" maximum:"7776000" example:"2592000"`
}

// TrustResponse is a trusted-device token.
type TrustResponse struct {
	Token     string `json:"token" example:"t1.2026-12.Kx9..." validate:"required"`
	ExpiresAt string `json:"expires_at" example:"2026-12-31T12:00:00Z" validate:"required"`
}

// TrustVerifyRequest checks a trusted-device token.
type TrustVerifyRequest struct {
	Token   string `json:"token" example:"t1.2026-12.Kx9..." validate:"required"`
	Subject string `json:"subject" maxLength:"320" example:"user-42" validate:"required"`
	Device  string `json:"device" maxLength:"128" example:"d-7f3a9c" validate:"required"`
	Epoch   uint64 `json:"epoch,omitempty" example:"0"`
}

// TrustVerifyResponse says whether the token holds; when it does, Token
// is its refreshed form, to put in the cookie instead.
type TrustVerifyResponse struct {
	Valid bool `json:"valid" example:"true" validate:"required"`
	// Reason says why not: expired, wrong_subject, wrong_device, revoked
	// (the user's epoch moved on) or invalid_token.
	Reason    string `json:"reason,omitempty" enums:"expired,wrong_subject,wrong_device,revoked,invalid_token" example:"revoked"`
	Token     string `json:"token,omitempty" example:"t1.2026-12.Kx9..."`
	ExpiresAt string `json:"expires_at,omitempty" example:"2026-12-31T12:00:00Z"`
}

// OTPRequest is the email OTP service's POST /2fa/requestotp body.
type OTPRequest struct {
	Email string `json:"email" example:"user@example.com" validate:"required"`
	// MetaData is the caller's own; only its deviceName and timeZone are
	// logged.
	MetaData map[string]any `json:"metaData,omitempty" swaggertype:"object"`
}

// OTPResponse is the token that checks the emailed code for 10 minutes.
type OTPResponse struct {
	Token string `json:"token" example:"AXq3..." validate:"required"`
}

// OTPVerifyRequest is the email OTP service's POST /2fa/verifyotp body.
type OTPVerifyRequest struct {
	Token string `json:"token" example:"AXq3..." validate:"required"`
	// OTP is a string, or a number left-padded with zeros.
	OTP Token `json:"otp" swaggertype:"string" example:"482913" validate:"required"`
}

// OTPVerifyResponse is the answer to a right code.
type OTPVerifyResponse struct {
	Valid bool `json:"valid" example:"true" validate:"required"`
}

// ChallengeVerifyRequest checks the code a user typed.
type ChallengeVerifyRequest struct {
	Challenge string `json:"challenge" example:"AXq3..." validate:"required"`
	// Code is a string, or a number left-padded with zeros.
	Code    Token  `json:"code" swaggertype:"string" example:"482913" validate:"required"`
	Subject string `json:"subject" example:"user@example.com" validate:"required"`
	Purpose string `json:"purpose,omitempty" example:"login"`
}

// ChallengeVerifyResponse says whether the code is right.
type ChallengeVerifyResponse struct {
	Valid bool `json:"valid" example:"true" validate:"required"`
	// Reason says why not: mismatch, expired, replayed, invalid_challenge,
	// wrong_subject (subject or purpose differ), too_many_attempts (the
	// challenge is dead).
	Reason  string `json:"reason,omitempty" enums:"mismatch,malformed,expired,replayed,invalid_challenge,wrong_subject,too_many_attempts" example:"mismatch"`
	Subject string `json:"subject,omitempty" example:"user@example.com"`
	Purpose string `json:"purpose,omitempty" example:"login"`
}

// RecoveryCodesRequest asks for new recovery codes.
type RecoveryCodesRequest struct {
	Count *int `json:"count,omitempty" minimum:"1" maximum:"20" example:"10"`
}

// RecoveryCodesResponse holds codes to show the user once, and the hashes
// to store instead of them, in the same order.
type RecoveryCodesResponse struct {
	Codes  []string `json:"codes" example:"7KQ2-M4XD-9HRT-PBWC" validate:"required"`
	Hashes []string `json:"hashes" example:"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" validate:"required"`
}

// RecoveryVerifyRequest checks a typed recovery code against the stored hashes.
type RecoveryVerifyRequest struct {
	// Code as typed: case, spaces and hyphens do not matter.
	Code   string   `json:"code" example:"7kq2 m4xd 9hrt pbwc" validate:"required"`
	Hashes []string `json:"hashes" example:"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" validate:"required"`
}

// RecoveryVerifyResponse says whether the code is one of the hashes, and
// which: delete that hash.
type RecoveryVerifyResponse struct {
	Valid  bool   `json:"valid" example:"true" validate:"required"`
	Index  *int   `json:"index,omitempty" example:"3"`
	Reason string `json:"reason,omitempty" enums:"mismatch,malformed,replayed" example:"mismatch"`
}

// Token is a code as callers send it: a JSON string, or a JSON number as the
// original service documented it, which loses its leading zeros.
type Token struct {
	text   string
	number bool
}

// ErrTokenType means a token was neither a JSON string nor a JSON number.
var ErrTokenType = errors.New("token must be a string or a number")

// UnmarshalJSON accepts a string or a number.
func (t *Token) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0:
		// The decoder has checked the string; without escapes it is as written.
		t.text, t.number = string(b[1:len(b)-1]), false
		return nil
	case len(b) > 0 && b[0] == '"':
		t.number = false
		return json.Unmarshal(b, &t.text)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		// The decoder has already checked b is a valid number literal.
		t.text, t.number = string(b), true
		return nil
	case string(b) == "null":
		*t = Token{}
		return nil
	}
	return ErrTokenType
}

// MarshalJSON writes the token as it came: a string, or a number.
func (t Token) MarshalJSON() ([]byte, error) {
	if t.number && isDigits(t.text) {
		return []byte(t.text), nil
	}
	return json.Marshal(t.text)
}

// TokenOf returns a Token holding s, as if sent as a JSON string.
func TokenOf(s string) Token { return Token{text: s} }

// IsZero reports whether no token was sent.
func (t Token) IsZero() bool { return t.text == "" }

// Text is the code to check: a number is left-padded with zeros to digits.
func (t Token) Text(digits int) string {
	if t.number && len(t.text) < digits && isDigits(t.text) {
		return strings.Repeat("0", digits-len(t.text)) + t.text
	}
	return t.text
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// NumberToken returns a Token as if sent as a JSON number: Text pads it
// with zeros.
func NumberToken(n uint64) Token { return Token{text: strconv.FormatUint(n, 10), number: true} }

// String is the token as sent.
func (t Token) String() string { return t.text }

// IsNumber reports whether the token came as a JSON number.
func (t Token) IsNumber() bool { return t.number }
