// Package handlers is the HTTP layer of the service: Gin routes that
// translate requests into calls on the domain packages (otp, guard,
// challenge, recovery), and their answers and errors into JSON, and
// nothing else. The general API information below is what swag reads
// for the OpenAPI documents (go generate ./...).
//
//	@title						TOTP service
//	@version					1.0
//	@description				Stateless RFC 6238 TOTP utility API. The caller keeps each user's secret; this service generates secrets, Key URIs and QR codes, and generates and verifies codes. Every error is an RFC 9457 problem+json answer with a stable `code`.
//	@BasePath					/
//	@accept						json
//	@produce					json
//	@tag.name					secrets
//	@tag.description			Enrolment: a new secret with its Key URI and QR code, or the QR code of a secret you hold
//	@tag.name					tokens
//	@tag.description			The current code of a secret, and verification of the code a user typed
//	@tag.name					sealed secrets
//	@tag.description			Secrets sealed under SEAL_KEYS, for callers to store instead of the secret; rotation
//	@tag.name					hotp
//	@tag.description			Counter-based codes (RFC 4226) for hardware tokens; the caller keeps the counter
//	@tag.name					challenges
//	@tag.description			Email and SMS codes, with no storage
//	@tag.name					recovery codes
//	@tag.description			Single-use recovery codes, checked against their hashes
//	@tag.name					trusted devices
//	@tag.description			"Remember this device": sealed tokens for a device's cookie, refreshed on every check, revoked by the user's epoch
//	@tag.name					original routes
//	@tag.description			The original service's route forms, kept for callers migrating without change
//	@tag.name					operations
//	@tag.description			Liveness and readiness
//	@securityDefinitions.apikey	ApiKeyAuth
//	@in							header
//	@name						X-API-Key
//	@description				Needed when the service is started with API keys (API_KEYS).
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				The same key as "Bearer KEY".
package handlers
