package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/api"
	"github.com/acme/totp/challenge"
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

func invalidParam(field, format string, args ...any) *api.Problem {
	return badRequest(api.CodeInvalidParameter, field, fmt.Sprintf(format, args...))
}

func missing(field string) *api.Problem {
	return badRequest(api.CodeMissingField, field, field+" is required")
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// fieldProblem translates a domain error about field into a api.Problem. Errors
// it does not know become a 500 whose detail says nothing of the input.
func fieldProblem(field string, err error) *api.Problem {
	var (
		p         *api.Problem
		throttled *guard.ThrottledError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &throttled):
		return newProblem(http.StatusTooManyRequests, api.CodeTooManyAttempts, "",
			fmt.Sprintf("too many failed attempts for this secret; retry in %d seconds", retryAfterSeconds(throttled.RetryAfter)))
	case errors.Is(err, challenge.ErrNoStore):
		return newProblem(http.StatusServiceUnavailable, api.CodeGuardOff, "",
			"challenges need the guard (GUARD=on): without it a code could be used twice and guessed without limit")
	case errors.Is(err, challenge.ErrInvalidSubject):
		return invalidParam("subject", "subject must be 1 to %d bytes", challenge.MaxSubjectLen)
	case errors.Is(err, challenge.ErrInvalidPurpose):
		return invalidParam("purpose", "purpose must be at most %d bytes", challenge.MaxPurposeLen)
	case errors.Is(err, challenge.ErrInvalidDigits):
		return invalidParam("digits", "digits must be from %d to %d", challenge.MinDigits, challenge.MaxDigits)
	case errors.Is(err, challenge.ErrInvalidTTL):
		return invalidParam("ttl", "ttl must be from %d to %d seconds", int(challenge.MinTTL/time.Second), int(challenge.MaxTTL/time.Second))
	case errors.Is(err, recovery.ErrInvalidCount):
		return invalidParam("count", "count must be from 1 to %d", recovery.MaxCount)
	case errors.Is(err, recovery.ErrNoHashes):
		return missing("hashes")
	case errors.Is(err, recovery.ErrTooManyHashes):
		return invalidParam("hashes", "at most %d hashes", recovery.MaxCount)
	case errors.Is(err, guard.ErrUnavailable):
		return newProblem(http.StatusServiceUnavailable, api.CodeStoreUnavailable, "",
			"the guard store cannot be reached, so no code can be accepted now; retry shortly")
	case errors.Is(err, otp.ErrUnknownEncoding):
		return invalidParam(field, "%s must be one of %s", field, join(otp.Encodings))
	case errors.Is(err, otp.ErrCannotEncode):
		return invalidParam(field, "%s ascii cannot carry random bytes; use base32, hex or base64", field)
	case errors.Is(err, otp.ErrUnknownAlgorithm):
		return invalidParam(field, "%s must be one of %s", field, join(otp.Algorithms))
	case errors.Is(err, otp.ErrInvalidDigits):
		return invalidParam(field, "%s must be %d, 7 or %d", field, otp.MinDigits, otp.MaxDigits)
	case errors.Is(err, otp.ErrInvalidPeriod):
		return invalidParam(field, "%s must be from %d to %d seconds", field, otp.MinPeriod, otp.MaxPeriod)
	case errors.Is(err, otp.ErrInvalidSkew):
		return invalidParam(field, "%s must be from 0 to %d steps", field, otp.MaxSkew)
	case errors.Is(err, otp.ErrInvalidLength):
		return invalidParam(field, "%s must be from %d to %d bytes", field, otp.MinGenerateLen, otp.MaxGenerateLen)
	case errors.Is(err, otp.ErrInvalidQRSize):
		return invalidParam(field, "%s must be from %d to %d pixels, and large enough for the URI", field, otp.MinQRSize, otp.MaxQRSize)
	case errors.Is(err, otp.ErrColonInLabel):
		return invalidParam(field, "%s must not contain a colon (the Key URI label separator)", field)
	case errors.Is(err, otp.ErrEmptyAccount):
		return missing(field)
	case errors.Is(err, otp.ErrInvalidSecret):
		return badRequest(api.CodeInvalidSecret, field, field+" does not decode in its encoding")
	case errors.Is(err, otp.ErrSecretTooShort):
		return badRequest(api.CodeInvalidSecret, field, fmt.Sprintf("%s must decode to at least %d bytes", field, otp.MinKeyLen))
	case errors.Is(err, otp.ErrSecretTooLong):
		return badRequest(api.CodeInvalidSecret, field, fmt.Sprintf("%s must decode to at most %d bytes", field, otp.MaxKeyLen))
	}
	return newProblem(http.StatusInternalServerError, api.CodeInternal, "", "internal error")
}

// retryAfterSeconds rounds up, so a client never retries a moment early.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// abort answers c with p and stops the handler chain.
func abort(c *gin.Context, p *api.Problem) {
	body, err := json.Marshal(p)
	if err != nil {
		body = []byte(`{"status":500,"code":"internal"}`)
	}
	c.Data(p.Status, "application/problem+json", body)
	c.Abort()
}

// fail answers c with the api.Problem err stands for, logging what is unexpected.
func (s *Server) fail(c *gin.Context, field string, err error) {
	p := fieldProblem(field, err)
	var throttled *guard.ThrottledError
	if errors.As(err, &throttled) {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(throttled.RetryAfter)))
	}
	if p.Status >= http.StatusInternalServerError {
		// Domain errors carry no secret; the message is safe to log.
		s.Log.ErrorContext(c.Request.Context(), "request failed", "err", err.Error(), "request_id", requestIDOf(c))
	}
	abort(c, p)
}
