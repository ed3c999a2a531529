package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst with json/v2 (the
// coming encoding/json/v2): no unknown member, no member twice, names
// matched case-sensitively, valid UTF-8, nothing after the object, no more
// than MaxBodyBytes. A proxy that reads the first "secret" and a decoder
// that keeps the last, or one that takes "SECRET" for "secret", would
// disagree about what was verified; json/v2 refuses both by default. Its
// problems never quote the body, which may hold a secret.
func decodeJSON(c *gin.Context, dst any) error {
	body, err := readBody(c)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return fault.Whole(fault.TooLarge, api.CodeBodyTooLarge, "",
			fmt.Sprintf("request body must be at most %d bytes", MaxBodyBytes))
	case err != nil:
		return badRequest(api.CodeInvalidJSON, "", "request body could not be read")
	case len(bytes.TrimSpace(body)) == 0:
		return badRequest(api.CodeInvalidJSON, "", "request body must be a JSON object")
	}
	if err := checkContentType(c); err != nil {
		return err
	}
	if err := json.Unmarshal(body, dst, json.RejectUnknownMembers(true)); err != nil {
		return jsonProblem(err)
	}
	return nil
}

// readBody reads the whole body, refusing more than MaxBodyBytes. A small
// body that states its length is read into a buffer of that length:
// io.ReadAll would start at 512 bytes, most of what a verification
// allocates, for bodies of a hundred. net/http ends such a body at its
// length and fails a shorter one, so both ways read the same bytes. Only
// small bodies are sized ahead: a caller stating 64 KiB and sending
// nothing must not hold 64 KiB for it.
func readBody(c *gin.Context) ([]byte, error) {
	const sizedAhead = 4 << 10
	r := http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	if n := c.Request.ContentLength; n >= 0 && n <= sizedAhead {
		body := make([]byte, n)
		_, err := io.ReadFull(r, body)
		return body, err
	}
	return io.ReadAll(r)
}

// checkContentType accepts a body sent as JSON (application/json, or any
// +json type). Anything else, and a body with no Content-Type, is refused:
// a browser on another site can send those without asking (a no-cors
// request), so accepting them would let any page drive the API.
func checkContentType(c *gin.Context) error {
	ct := c.GetHeader("Content-Type")
	if ct == "application/json" {
		return nil // what nearly every caller sends, without parsing it
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return fault.Whole(fault.UnsupportedMedia, api.CodeUnsupportedMediaType, "",
		"request body must be JSON: send Content-Type: application/json")
}

// jsonProblem translates a json/v2 error. The member a problem names is
// taken from the error's JSON Pointer, never from the value.
func jsonProblem(err error) error {
	var (
		syntax   *jsontext.SyntacticError
		semantic *json.SemanticError
	)
	switch {
	case errors.As(err, &syntax) && errors.Is(syntax.Err, jsontext.ErrDuplicateName):
		name := memberName(syntax.JSONPointer)
		return badRequest(api.CodeInvalidJSON, name, fmt.Sprintf("member %q appears more than once", name))
	case errors.As(err, &syntax):
		return badRequest(api.CodeInvalidJSON, "", fmt.Sprintf("request body is not valid JSON (at byte %d)", syntax.ByteOffset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(api.CodeInvalidJSON, "", "request body ends before its JSON is complete")
	case errors.As(err, &semantic) && errors.Is(semantic.Err, json.ErrUnknownName):
		name := memberName(semantic.JSONPointer)
		return badRequest(api.CodeUnknownField, name, fmt.Sprintf("unknown field %q", name))
	case errors.As(err, &semantic) && semantic.JSONPointer == "":
		return badRequest(api.CodeInvalidJSON, "", "request body must be a JSON object")
	case errors.As(err, &semantic):
		field := fieldAt(semantic.JSONPointer)
		if errors.Is(semantic.Err, api.ErrTokenType) {
			return badRequest(api.CodeInvalidParameter, field, field+" must be a string or a number")
		}
		return badRequest(api.CodeInvalidParameter, field, fmt.Sprintf("%s must be a JSON %s", field, jsonKind(semantic)))
	}
	return badRequest(api.CodeInvalidJSON, "", "request body is not valid JSON")
}

// memberName is the last name in p, cut to 64 bytes: a name, unlike a
// value, may be repeated in a problem.
func memberName(p jsontext.Pointer) string {
	return truncate(p.LastToken())
}

// fieldAt names the value p points to as problems name fields:
// "hashes[2]" for "/hashes/2".
func fieldAt(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return truncate(b.String())
}

// truncate cuts a name to 64 bytes and replaces what is not UTF-8 (a
// query may carry any bytes), so a problem can always be written as JSON.
func truncate(name string) string {
	if len(name) > 64 {
		name = name[:64]
	}
	return strings.ToValidUTF8(name, "\uFFFD")
}

// jsonKind names the JSON type a Go field wants.
func jsonKind(e *json.SemanticError) string {
	t := e.GoType
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "value of another type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return "integer"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array"
	}
	return "value of another type"
}

// query reads query parameters, refusing names the route does not know so
// that a typo never falls back to a default silently.
type query struct {
	values url.Values
}

// newQuery parses c's query. It refuses a pair holding ';' (url.Values
// would drop it silently), a name the route does not know, and a name
// given twice (a proxy reading the first and this service the last would
// disagree, as with JSON members).
func newQuery(c *gin.Context, known ...string) (query, error) {
	if c.Request.URL.RawQuery == "" {
		return query{}, nil // most POST routes come without one
	}
	v, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		// The parser's message quotes the pair, which may hold an account name.
		return query{}, badRequest(api.CodeInvalidParameter, "", "query string does not parse: separate parameters with '&', and escape ';' and '%'")
	}
	for name, values := range v {
		if !slices.Contains(known, name) {
			name = truncate(name)
			return query{}, badRequest(api.CodeUnknownField, name, fmt.Sprintf("unknown query parameter %q; known: %s", name, strings.Join(known, ", ")))
		}
		if len(values) > 1 {
			return query{}, badRequest(api.CodeInvalidParameter, name, name+" must be given once")
		}
	}
	return query{values: v}, nil
}

func (q query) str(name string) string { return q.values.Get(name) }

// uint64 returns the required non-negative integer parameter name.
func (q query) uint64(name string) (uint64, error) {
	if !q.values.Has(name) {
		return 0, missing(name)
	}
	n, err := strconv.ParseUint(q.values.Get(name), 10, 64)
	if err != nil {
		return 0, badRequest(api.CodeInvalidParameter, name, name+" must be a non-negative integer")
	}
	return n, nil
}

// int returns the integer parameter name, or nil when absent.
func (q query) int(name string) (*int, error) {
	if !q.values.Has(name) {
		return nil, nil
	}
	n, err := strconv.Atoi(q.values.Get(name))
	if err != nil {
		return nil, badRequest(api.CodeInvalidParameter, name, name+" must be an integer")
	}
	return &n, nil
}
