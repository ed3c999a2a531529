// Package fault is the service's one error model. A domain error carries
// its kind, which the HTTP edge maps to a status, a stable code (the
// `code` of the problem+json answer), the field at fault and, when a
// retry helps, how long to wait; its detail is safe to show and to log.
// Domain packages return them; the edge answers them; logs and metrics
// read the same kind and code.
package fault

import (
	"errors"
	"time"
)

// Kind is what sort of failure an error is.
type Kind uint8

// The kinds, each one status at the HTTP edge.
const (
	Internal         Kind = iota // a bug or an unexpected failure
	Invalid                      // the request is wrong; sending it again will not help
	Unauthenticated              // no valid credential
	Forbidden                    // a credential without the right
	NotFound                     // nothing there
	MethodNotAllowed             // not with this method
	TooLarge                     // the body is too large
	UnsupportedMedia             // the body is not JSON
	Throttled                    // too many attempts or requests; wait RetryAfter
	NotConfigured                // this instance was not set up for it
	Unavailable                  // a dependency or a resource is short; retry
	Upstream                     // a provider this service relies on refused
)

// Error is a domain error. Its zero RetryAfter means no advice.
type Error struct {
	Kind  Kind
	Code  string
	Field string
	// Msg says what is wrong with Field ("must be 6, 7 or 8"), or the
	// whole of it when there is no field.
	Msg        string
	RetryAfter time.Duration
	// Scope is the scope a Forbidden request lacked.
	Scope string
	// ProviderCode is an Upstream provider's own code for its refusal.
	ProviderCode string

	base  *Error // the error this one was made from, for errors.Is
	cause error  // what went wrong underneath: logged, never shown
	whole bool   // Msg is the whole detail, naming the field itself
}

// New returns a sentinel error.
func New(kind Kind, code, field, msg string) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Msg: msg}
}

// Whole returns an error whose detail is the whole of msg, which names
// the field itself where it needs to ("member \"secret\" appears more
// than once").
func Whole(kind Kind, code, field, msg string) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Msg: msg, whole: true}
}

// Detail is the sentence an answer carries: the field and what is wrong
// with it.
func (e *Error) Detail() string {
	if e.Field == "" || e.whole {
		return e.Msg
	}
	return e.Field + " " + e.Msg
}

// Error is the detail, and the cause underneath for the log.
func (e *Error) Error() string {
	if e.cause != nil {
		return e.Detail() + ": " + e.cause.Error()
	}
	return e.Detail()
}

// Is matches e and every error e was made from.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	for b := e; ok && b != nil; b = b.base {
		if b == t {
			return true
		}
	}
	return false
}

// Unwrap is the cause.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) derive() *Error {
	c := *e
	c.base = e
	return &c
}

// At is e about another field: the same check on skew_past as on skew.
func (e *Error) At(field string) *Error {
	c := e.derive()
	c.Field = field
	return c
}

// Explain is e with why appended to its message.
func (e *Error) Explain(why string) *Error {
	c := e.derive()
	c.Msg += "; " + why
	return c
}

// Wait is e advising a retry after d.
func (e *Error) Wait(d time.Duration) *Error {
	c := e.derive()
	c.RetryAfter = d
	return c
}

// Because is e caused by err, which the log shows and the answer does not.
func (e *Error) Because(err error) *Error {
	c := e.derive()
	c.cause = err
	return c
}

// From is the outermost *Error in err's chain; nil when there is none,
// which the edge answers as Internal.
func From(err error) *Error {
	var f *Error
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// At is err about field when it is an *Error, else err unchanged; nil
// stays nil.
func At(field string, err error) error {
	if err == nil {
		return nil
	}
	if f := From(err); f != nil {
		return f.At(field)
	}
	return err
}

// Seconds is d in whole seconds, rounded up (and at least 1), so a client
// told to wait never retries a moment early.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
