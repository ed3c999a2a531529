package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/otp"
)

const problemType = "urn:totp:problem:"

// statuses is the HTTP status of each kind of fault: the one place an
// error becomes a status.
var statuses = [...]int{
	fault.Internal:         http.StatusInternalServerError,
	fault.Invalid:          http.StatusBadRequest,
	fault.Unauthenticated:  http.StatusUnauthorized,
	fault.Forbidden:        http.StatusForbidden,
	fault.NotFound:         http.StatusNotFound,
	fault.MethodNotAllowed: http.StatusMethodNotAllowed,
	fault.TooLarge:         http.StatusRequestEntityTooLarge,
	fault.UnsupportedMedia: http.StatusUnsupportedMediaType,
	fault.Throttled:        http.StatusTooManyRequests,
	fault.NotConfigured:    http.StatusNotImplemented,
	fault.Unavailable:      http.StatusServiceUnavailable,
	fault.Upstream:         http.StatusBadGateway,
}

// errInternal answers every error that is not a fault: its text may say
// anything, so the answer says nothing of it.
var errInternal = fault.New(fault.Internal, api.CodeInternal, "", "internal error")

// badRequest is the edge's own 400, detail whole.
func badRequest(code, field, detail string) error {
	return fault.Whole(fault.Invalid, code, field, detail)
}

// missing is the 400 for a required field left out.
func missing(field string) error { return otp.ErrMissing.At(field) }

// problemOf is the answer to err, and the fault it stands for.
func problemOf(err error) (*api.Problem, *fault.Error) {
	f := fault.From(err)
	if f == nil {
		f = errInternal
	}
	status := statuses[f.Kind]
	return &api.Problem{
		Type: problemType + f.Code, Title: http.StatusText(status), Status: status,
		Detail: f.Detail(), Code: f.Code, Field: f.Field, Scope: f.Scope, ProviderCode: f.ProviderCode,
	}, f
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
	p, f := problemOf(err)
	if f.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(fault.Seconds(f.RetryAfter)))
	}
	s.refusalEvent(c, f)
	switch {
	case f.Code == api.CodeStoreFull:
		// A flood fills the store: one warning a while, not one a request.
		s.fullWarnings.Do(c.Request.Context(), s.log, "guard store full: verifications that need a new record answer 503 store_full until records expire; raise GUARD_CAPACITY if this is not an attack")
	case f.Code == api.CodeBusy:
		// Expected under load; the access line says it.
	case f.Kind == fault.Internal || f.Kind == fault.Unavailable:
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("err", err.Error()), slog.String("request_id", requestIDOf(c)))
	}
	body, mErr := json.Marshal(p)
	if mErr != nil {
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "problem not written",
			slog.String("err", mErr.Error()), slog.String("request_id", requestIDOf(c)))
		p, body = &api.Problem{Status: http.StatusInternalServerError}, internalProblemJSON
	}
	c.Data(p.Status, "application/problem+json", body)
	c.Abort()
}

// internalProblemJSON is the answer when not even a problem could be written.
var internalProblemJSON = []byte(`{"type":"urn:totp:problem:internal","title":"Internal Server Error","status":500,"detail":"internal error","code":"internal"}`)

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

// rareLog logs a message at most once per interval.
type rareLog struct {
	every time.Duration
	last  atomic.Int64 // unix nanoseconds of the last line
}

// Do logs msg as a warning unless it was logged less than every ago.
func (r *rareLog) Do(ctx context.Context, log *slog.Logger, msg string) {
	if r.due(time.Now()) {
		log.WarnContext(ctx, msg)
	}
}

// due reports whether every has passed since it last said so, and if it
// has, starts the interval again.
func (r *rareLog) due(t time.Time) bool {
	now, last := t.UnixNano(), r.last.Load()
	return now-last >= int64(r.every) && r.last.CompareAndSwap(last, now)
}
