package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/otp"
	"github.com/acme/totp/recovery"
)

const problemType = "urn:totp:problem:"

func newProblem(status int, code, field, detail string) *api.Problem {
	return &api.Problem{
		Type:   problemType + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
		Field:  field,
	}
}

func badRequest(code, field, detail string) *api.Problem {
	return newProblem(http.StatusBadRequest, code, field, detail)
}

func missing(field string) *api.Problem {
	return badRequest(api.CodeMissingField, field, field+" is required")
}

// handle adapts a handler that returns an error to Gin. Handlers translate
// and return; fail is the one place an error becomes an answer.
func (s *server) handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.fail(c, err)
		}
	}
}

// fail answers c with the problem err stands for, and logs what is
// unexpected. Domain errors carry no secret, so their text is safe to log.
func (s *server) fail(c *gin.Context, err error) {
	p, retryAfter := problemOf(err)
	if retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(retryAfter)))
	}
	var full *guard.FullError
	switch {
	case errors.As(err, &full):
		// A flood fills the store: one warning a while, not one a request.
		s.fullWarnings.Do(c.Request.Context(), s.log, "guard store full: verifications that need a new record answer 503 store_full until records expire; raise GUARD_CAPACITY if this is not an attack")
	case errors.Is(err, errBusy), errors.Is(err, errSealingOff):
		// Expected under load, or said at start-up; the access line says it.
	case p.Status >= http.StatusInternalServerError:
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("err", err.Error()), slog.String("request_id", requestIDOf(c)))
	}
	body, mErr := json.Marshal(p)
	if mErr != nil {
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "problem not written",
			slog.String("err", mErr.Error()), slog.String("request_id", requestIDOf(c)))
		p, body = internalProblem, internalProblemJSON
	}
	c.Data(p.Status, "application/problem+json", body)
	c.Abort()
}

// internalProblem is the answer when not even a problem could be written.
var (
	internalProblem     = newProblem(http.StatusInternalServerError, api.CodeInternal, "", "internal error")
	internalProblemJSON = []byte(`{"type":"urn:totp:problem:internal","title":"Internal Server Error","status":500,"detail":"internal error","code":"internal"}`)
)

// reply answers c with v as JSON, through the same library that decodes
// requests.
func reply(c *gin.Context, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Data(status, "application/json; charset=utf-8", body)
	return nil
}

// retryAfterSeconds rounds up, so a client never retries a moment early.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// rareLog logs a message at most once per interval.
type rareLog struct {
	every time.Duration
	last  atomic.Int64 // unix nanoseconds of the last line
}

// Do logs msg as a warning unless it was logged less than every ago.
func (r *rareLog) Do(ctx context.Context, log *slog.Logger, msg string) {
	now, last := time.Now().UnixNano(), r.last.Load()
	if now-last < int64(r.every) || !r.last.CompareAndSwap(last, now) {
		return
	}
	log.WarnContext(ctx, msg)
}

// domainError is how one domain sentinel is answered. {field} in detail
// is the field at fault: the one a *otp.FieldError names, else field.
type domainError struct {
	err    error
	status int
	code   string
	field  string
	detail string
}

var domainErrors = []domainError{
	{guard.ErrUnavailable, http.StatusServiceUnavailable, api.CodeStoreUnavailable, "",
		"the guard store cannot be reached, so no code can be accepted now; retry shortly"},
	{challenge.ErrNoStore, http.StatusServiceUnavailable, api.CodeGuardOff, "",
		"challenges need the guard (GUARD=on): without it a code could be used twice and guessed without limit"},

	{otp.ErrInvalidSealed, 400, api.CodeInvalidSealed, "sealed",
		"{field} does not open: it was changed, sealed under a key this instance does not have, or sealed with another context"},
	{otp.ErrMissing, 400, api.CodeMissingField, "", "{field} is required"},
	{otp.ErrEmptyAccount, 400, api.CodeMissingField, "account", "{field} is required"},
	{otp.ErrInvalidSecret, 400, api.CodeInvalidSecret, "secret", "{field} does not decode in its encoding"},
	{otp.ErrSecretTooShort, 400, api.CodeInvalidSecret, "secret", fmt.Sprintf("{field} must decode to at least %d bytes", otp.MinKeyLen)},
	{otp.ErrSecretTooLong, 400, api.CodeInvalidSecret, "secret", fmt.Sprintf("{field} must decode to at most %d bytes", otp.MaxKeyLen)},
	{otp.ErrUnknownEncoding, 400, api.CodeInvalidParameter, "encoding", "{field} must be one of " + join(otp.Encodings)},
	{otp.ErrCannotEncode, 400, api.CodeInvalidParameter, "encoding", "{field} ascii cannot carry random bytes; use base32, hex or base64"},
	{otp.ErrUnknownAlgorithm, 400, api.CodeInvalidParameter, "algorithm", "{field} must be one of " + join(otp.Algorithms)},
	{otp.ErrInvalidDigits, 400, api.CodeInvalidParameter, "digits", fmt.Sprintf("{field} must be %d, 7 or %d", otp.MinDigits, otp.MaxDigits)},
	{otp.ErrInvalidPeriod, 400, api.CodeInvalidParameter, "period", fmt.Sprintf("{field} must be from %d to %d seconds", otp.MinPeriod, otp.MaxPeriod)},
	{otp.ErrInvalidSkew, 400, api.CodeInvalidParameter, "skew", fmt.Sprintf("{field} must be from 0 to %d steps", otp.MaxSkew)},
	{otp.ErrSkewAndSides, 400, api.CodeInvalidParameter, "skew", "send skew, or skew_past and skew_future, not both"},
	{otp.ErrUnknownEncoder, 400, api.CodeInvalidParameter, "encoder", "{field} must be default or steam"},
	{otp.ErrSteamDigits, 400, api.CodeInvalidParameter, "digits", fmt.Sprintf("{field} must be %d with the steam encoder", otp.SteamDigits)},
	{otp.ErrInvalidLookAhead, 400, api.CodeInvalidParameter, "look_ahead", fmt.Sprintf("{field} must be from 0 to %d (%d for a resync)", otp.MaxLookAhead, otp.MaxResyncLookAhead)},
	{otp.ErrInvalidLength, 400, api.CodeInvalidParameter, "length", fmt.Sprintf("{field} must be from %d to %d bytes", otp.MinGenerateLen, otp.MaxGenerateLen)},
	{otp.ErrInvalidQRSize, 400, api.CodeInvalidParameter, "size", fmt.Sprintf("{field} must be from %d to %d pixels, and large enough for the URI", otp.MinQRSize, otp.MaxQRSize)},
	{otp.ErrColonInLabel, 400, api.CodeInvalidParameter, "account", "{field} must not contain a colon (the Key URI label separator)"},
	{otp.ErrLabelTooLong, 400, api.CodeInvalidParameter, "account", fmt.Sprintf("{field} must be at most %d bytes", otp.MaxLabelLen)},

	{challenge.ErrInvalidSubject, 400, api.CodeInvalidParameter, "subject", fmt.Sprintf("{field} must be 1 to %d bytes", challenge.MaxSubjectLen)},
	{challenge.ErrInvalidPurpose, 400, api.CodeInvalidParameter, "purpose", fmt.Sprintf("{field} must be at most %d bytes", challenge.MaxPurposeLen)},
	{challenge.ErrInvalidDigits, 400, api.CodeInvalidParameter, "digits", fmt.Sprintf("{field} must be from CHALLENGE_MIN_DIGITS (%d unless lowered, at least %d) to %d", challenge.DefaultMinDigits, challenge.MinDigits, challenge.MaxDigits)},
	{challenge.ErrInvalidTTL, 400, api.CodeInvalidParameter, "ttl", fmt.Sprintf("{field} must be from %d to %d seconds", int(challenge.MinTTL/time.Second), int(challenge.MaxTTL/time.Second))},
	{recovery.ErrInvalidCount, 400, api.CodeInvalidParameter, "count", fmt.Sprintf("{field} must be from 1 to %d", recovery.MaxCount)},
	{recovery.ErrNoHashes, 400, api.CodeMissingField, "hashes", "{field} is required"},
	{recovery.ErrTooManyHashes, 400, api.CodeInvalidParameter, "hashes", fmt.Sprintf("at most %d {field}", recovery.MaxCount)},
}

// problemOf is the answer to err, and how long a client should wait
// before it retries (0: no Retry-After). Errors it does not know are a 500
// whose detail says nothing of the input.
func problemOf(err error) (*api.Problem, time.Duration) {
	var (
		p         *api.Problem
		throttled *guard.ThrottledError
		malformed *recovery.MalformedHashError
		unknown   *recovery.UnknownKeyError
		share     *guard.ShareError
		fe        *otp.FieldError
		full      *guard.FullError
		uri       *otp.URIError
	)
	switch {
	case errors.As(err, &p):
		return p, 0
	case errors.As(err, &uri):
		// Before the table: a URI's reason may be any of otp's sentinels.
		return badRequest(api.CodeInvalidURI, "uri", "uri is not a usable otpauth://totp Key URI: "+uri.Reason.Error()), 0
	case errors.Is(err, errSealingOff):
		return newProblem(http.StatusNotImplemented, api.CodeSealingNotConfigured, "",
			"this instance has no SEAL_KEYS, so it can neither seal nor open secrets; start it with SEAL_KEYS=ID:KEY, KEY being 32 random bytes in base64 (head -c 32 /dev/urandom | base64)"), 0
	case errors.Is(err, errBusy):
		return newProblem(http.StatusServiceUnavailable, api.CodeBusy, "",
			"as many costly requests (QR codes, wide HOTP windows over long keys) are running as this instance allows; retry shortly"), time.Second
	case errors.As(err, &full):
		return newProblem(http.StatusServiceUnavailable, api.CodeStoreFull, "",
			"the guard store is full, so this attempt cannot be recorded and no code can be accepted for a new secret now; retry shortly"), max(full.RetryAfter, time.Second)
	case errors.As(err, &throttled):
		return newProblem(http.StatusTooManyRequests, api.CodeTooManyAttempts, "",
			fmt.Sprintf("too many failed attempts; retry in %d seconds", retryAfterSeconds(throttled.RetryAfter))), throttled.RetryAfter
	case errors.As(err, &share):
		return newProblem(http.StatusTooManyRequests, api.CodeRateLimited, "",
			fmt.Sprintf("this API key holds its whole share of the guard store, so no attempt needing a new record can be taken from it now; retry in %d seconds", retryAfterSeconds(share.RetryAfter))), share.RetryAfter
	case errors.As(err, &malformed):
		field := fmt.Sprintf("hashes[%d]", malformed.Index)
		return badRequest(api.CodeInvalidParameter, field, field+" must be sha256:HEX or hmac-sha256:KEYID:HEX, HEX being 64 hex digits"), 0
	case errors.As(err, &unknown):
		field := fmt.Sprintf("hashes[%d]", unknown.Index)
		return badRequest(api.CodeInvalidParameter, field, field+" was made under a key this instance does not hold; keep every key that made stored hashes in RECOVERY_KEYS"), 0
	}
	field := ""
	if errors.As(err, &fe) {
		field = fe.Field
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			if field == "" {
				field = d.field
			}
			return newProblem(d.status, d.code, field, strings.ReplaceAll(d.detail, "{field}", field)), 0
		}
	}
	return newProblem(http.StatusInternalServerError, api.CodeInternal, "", "internal error"), 0
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
