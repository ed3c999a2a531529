package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/acme/totp/api"
	"github.com/gin-gonic/gin"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst: no unknown fields, no
// trailing data, no more than MaxBodyBytes. Its Problems never quote the
// body, which may hold a secret.
func decodeJSON(c *gin.Context, dst any) *api.Problem {
	buf := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(buf)
	body, err := readBody(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes), (*buf)[:0])
	*buf = body[:0]
	if err != nil {
		return jsonProblem(err)
	}
	if decodeFlat(body, dst) {
		return nil
	}
	return decodeStrict(body, dst)
}

// decodeStrict decodes body into dst with encoding/json, refusing unknown
// fields and anything after the object.
func decodeStrict(body []byte, dst any) *api.Problem {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	// Only white space may follow the object.
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return badRequest(api.CodeInvalidJSON, "", "request body must hold one JSON object and nothing after it")
	}
	return nil
}

// bodyBuffers hold request bodies while they are decoded.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// readBody appends all of r to b.
func readBody(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func jsonProblem(err error) *api.Problem {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return newProblem(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge, "",
			fmt.Sprintf("request body must be at most %d bytes", MaxBodyBytes))
	case errors.Is(err, io.EOF):
		return badRequest(api.CodeInvalidJSON, "", "request body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(api.CodeInvalidJSON, "", "request body ends before its JSON is complete")
	case errors.As(err, &syntax):
		return badRequest(api.CodeInvalidJSON, "", fmt.Sprintf("request body is not valid JSON (at byte %d)", syntax.Offset))
	case errors.Is(err, api.ErrTokenType):
		return invalidParam("token", "token must be a string or a number")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest(api.CodeInvalidJSON, "", "request body must be a JSON object")
		}
		// Fields of embedded structs come as "api.TOTPOptions.digits".
		field := typ.Field[strings.LastIndexByte(typ.Field, '.')+1:]
		return invalidParam(field, "%s must be a JSON %s", field, jsonKind(typ.Type.Kind().String()))
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		name = strings.TrimSuffix(name, `"`)
		if len(name) > 64 {
			name = name[:64]
		}
		return badRequest(api.CodeUnknownField, name, fmt.Sprintf("unknown field %q", name))
	}
	return badRequest(api.CodeInvalidJSON, "", "request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "uint64", "uint", "int32":
		return "integer"
	case "bool":
		return "boolean"
	}
	return goKind
}

// query reads query parameters, refusing names the route does not know so
// that a typo never falls back to a default silently.
type query struct {
	values url.Values
}

func newQuery(c *gin.Context, known ...string) (query, *api.Problem) {
	if c.Request.URL.RawQuery == "" {
		return query{}, nil
	}
	v := c.Request.URL.Query()
	for name := range v {
		if !slices.Contains(known, name) {
			if len(name) > 64 {
				name = name[:64]
			}
			return query{}, badRequest(api.CodeUnknownField, name, fmt.Sprintf("unknown query parameter %q; known: %s", name, strings.Join(known, ", ")))
		}
	}
	return query{values: v}, nil
}

func (q query) str(name string) string { return q.values.Get(name) }

// int returns the integer parameter name, or nil when absent.
func (q query) int(name string) (*int, *api.Problem) {
	if !q.values.Has(name) {
		return nil, nil
	}
	n, err := strconv.Atoi(q.values.Get(name))
	if err != nil {
		return nil, invalidParam(name, "%s must be an integer", name)
	}
	return &n, nil
}
