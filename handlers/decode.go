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

	"github.com/gin-gonic/gin"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads exactly one JSON object into dst: no unknown fields, no
// trailing data, no more than MaxBodyBytes. Its Problems never quote the
// body, which may hold a secret.
func decodeJSON(c *gin.Context, dst any) *Problem {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	// Only white space may follow the object.
	rest := io.MultiReader(dec.Buffered(), body)
	var buf [64]byte
	for {
		n, err := rest.Read(buf[:])
		if len(bytes.TrimLeft(buf[:n], " \t\r\n")) > 0 {
			return badRequest(CodeInvalidJSON, "", "request body must hold one JSON object and nothing after it")
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return jsonProblem(err)
		}
	}
}

func jsonProblem(err error) *Problem {
	var (
		syntax    *json.SyntaxError
		typ       *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		tokenType *tokenTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return newProblem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "",
			fmt.Sprintf("request body must be at most %d bytes", MaxBodyBytes))
	case errors.Is(err, io.EOF):
		return badRequest(CodeInvalidJSON, "", "request body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(CodeInvalidJSON, "", "request body ends before its JSON is complete")
	case errors.As(err, &syntax):
		return badRequest(CodeInvalidJSON, "", fmt.Sprintf("request body is not valid JSON (at byte %d)", syntax.Offset))
	case errors.As(err, &tokenType):
		return invalidParam("token", "token must be a string or a number")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest(CodeInvalidJSON, "", "request body must be a JSON object")
		}
		// Fields of embedded structs come as "TOTPOptions.digits".
		field := typ.Field[strings.LastIndexByte(typ.Field, '.')+1:]
		return invalidParam(field, "%s must be a JSON %s", field, jsonKind(typ.Type.Kind().String()))
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		name = strings.TrimSuffix(name, `"`)
		if len(name) > 64 {
			name = name[:64]
		}
		return badRequest(CodeUnknownField, name, fmt.Sprintf("unknown field %q", name))
	}
	return badRequest(CodeInvalidJSON, "", "request body is not valid JSON")
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

// Token is a code as callers send it: a JSON string, or a JSON number as the
// original service documented it, which loses its leading zeros.
type Token struct {
	text   string
	number bool
}

type tokenTypeError struct{}

func (*tokenTypeError) Error() string { return "token must be a string or a number" }

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
	return &tokenTypeError{}
}

// MarshalJSON writes the token as a string.
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(t.text) }

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

// query reads query parameters, refusing names the route does not know so
// that a typo never falls back to a default silently.
type query struct {
	values url.Values
}

func newQuery(c *gin.Context, known ...string) (query, *Problem) {
	if c.Request.URL.RawQuery == "" {
		return query{}, nil
	}
	v := c.Request.URL.Query()
	for name := range v {
		if !slices.Contains(known, name) {
			if len(name) > 64 {
				name = name[:64]
			}
			return query{}, badRequest(CodeUnknownField, name, fmt.Sprintf("unknown query parameter %q; known: %s", name, strings.Join(known, ", ")))
		}
	}
	return query{values: v}, nil
}

func (q query) str(name string) string { return q.values.Get(name) }

// int returns the integer parameter name, or nil when absent.
func (q query) int(name string) (*int, *Problem) {
	if !q.values.Has(name) {
		return nil, nil
	}
	n, err := strconv.Atoi(q.values.Get(name))
	if err != nil {
		return nil, invalidParam(name, "%s must be an integer", name)
	}
	return &n, nil
}
