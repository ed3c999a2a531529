// Command openapi writes docs/openapi.json, the OpenAPI 3 document that
// Swagger UI shows and that code generators (openapi-typescript) read,
// and the generated tables of docs/configuration.md (from the flags the
// config package declares) and docs/errors.md (from the answers it
// records).
//
// It converts swag's Swagger 2.0 output (docs/swagger.json) with
// kin-openapi's openapi2conv, then adds what Swagger 2.0 cannot say:
// errors as application/problem+json, each with examples recorded from
// the service itself (every example is the real answer to a real request,
// made here in process through handlers.New), Retry-After where the
// service sends it, one request schema per form of the secret (secret,
// sealed or uri), the QR route's PNG, and the paths in the order of the
// enrolment flow. It validates the result with kin-openapi.
//
// go generate ./... runs it after swag; CI runs that and fails when a
// generated document changes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json/jsontext"
)

func main() {
	in := flag.String("in", "docs/swagger.json", "swag's Swagger 2.0 document")
	out := flag.String("out", "docs/openapi.json", "the OpenAPI 3 document to write")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(raw, &doc2); err != nil {
		return err
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return err
	}
	if err := shape(doc); err != nil {
		return err
	}
	recorded, err := record()
	if err != nil {
		return err
	}
	if err := writeTables(filepath.Dir(out), recorded); err != nil {
		return err
	}
	if err := attach(doc, recorded); err != nil {
		return err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return fmt.Errorf("the document is not valid OpenAPI 3: %w", err)
	}
	b, err := ordered(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

// pathOrder is the enrolment flow: a secret, its QR code, a code, its
// verification; then sealing, HOTP, challenges and recovery codes; then
// the original routes and the probes.
var pathOrder = []string{
	"/generate/secret", "/generate/qr", "/generate/token", "/verify/token",
	"/seal", "/reseal",
	"/hotp/token", "/hotp/verify", "/hotp/resync",
	"/challenge", "/challenge/verify", "/challenge/resend",
	"/generate/recovery-codes", "/verify/recovery-code",
	"/trust", "/trust/verify",
	"/auth/generate/secret/{encoding}/{length}", "/auth/generate/token/{encoding}", "/auth/verify/token/{encoding}",
	"/2fa/requestotp", "/2fa/verifyotp",
	"/healthz", "/readyz",
}

// secretForms are the request schemas whose secret comes in one of three
// forms; each becomes a oneOf of one schema per form.
var secretForms = []string{"api.TokenRequest", "api.VerifyRequest", "api.QRRequest"}

// firstWord is the first word of a description, which swag copies from
// the field's comment, and which is then the Go field's name.
var firstWord = regexp.MustCompile(`^[A-Za-z0-9]+\b`)

// shape rewrites what the conversion leaves in Swagger 2.0's terms.
func shape(doc *openapi3.T) error {
	doc.Servers = nil // the document's own origin, wherever it is served
	schemas := doc.Components.Schemas
	for _, ref := range schemas {
		for prop, p := range ref.Value.Properties {
			// "AfterStep refuses ..." reads "`after_step` refuses ...".
			if p.Value == nil {
				continue
			}
			word := firstWord.FindString(p.Value.Description)
			if word != "" && strings.EqualFold(word, strings.ReplaceAll(prop, "_", "")) {
				p.Value.Description = "`" + prop + "`" + strings.TrimPrefix(p.Value.Description, word)
			}
		}
	}
	for _, name := range secretForms {
		ref, ok := schemas[name]
		if !ok {
			return fmt.Errorf("no schema %s", name)
		}
		base := ref.Value
		options := []string{"encoding", "algorithm", "digits", "period", "encoder"}
		var forms openapi3.SchemaRefs
		for _, form := range []struct {
			name, title string
			keep        []string // the form's own fields
			drop        []string // the other forms' fields
		}{
			{"secret", "in the clear", []string{"secret"}, []string{"sealed", "context", "uri"}},
			{"sealed", "sealed", []string{"sealed", "context"}, append([]string{"secret", "uri"}, options...)},
			{"uri", "as a Key URI", []string{"uri"}, append([]string{"secret", "sealed", "context"}, options...)},
		} {
			s := *base
			s.Title = strings.TrimPrefix(name, "api.") + ", secret " + form.title
			s.Properties = openapi3.Schemas{}
			for k, v := range base.Properties {
				if !slices.Contains(form.drop, k) {
					s.Properties[k] = v
				}
			}
			s.Required = append(slices.Clone(base.Required), form.name)
			sort.Strings(s.Required)
			f := false
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: &f}
			key := name + "." + form.name
			schemas[key] = openapi3.NewSchemaRef("", &s)
			forms = append(forms, openapi3.NewSchemaRef("#/components/schemas/"+key, &s))
		}
		schemas[name] = openapi3.NewSchemaRef("", &openapi3.Schema{
			Description: strings.TrimSpace(base.Description + " Send the secret in one of three forms: `secret` (with its options), `sealed` (with its `context`), or `uri`."),
			OneOf:       forms,
		})
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, resp := range op.Responses.Map() {
				status, _ := strconv.Atoi(code)
				switch {
				case status >= 400:
					// Errors are problem+json, never application/json.
					if mt := resp.Value.Content.Get("application/json"); mt != nil {
						resp.Value.Content = openapi3.Content{"application/problem+json": mt}
					}
				case op.OperationID == "generateQR" && status == 200:
					resp.Value.Content = openapi3.NewContentWithSchema(openapi3.NewStringSchema().WithFormat("binary"), []string{"image/png"})
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				// Bodies are JSON, whatever the route produces.
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					op.RequestBody.Value.Content = openapi3.Content{"application/json": mt}
				}
			}
			if op.OperationID == "" {
				return fmt.Errorf("%s %s has no operationId (@ID)", method, path)
			}
		}
	}
	return nil
}

// attach puts the recorded answers under their operations: every error
// status an operation declares must have at least one example, and every
// example's status must be declared, so the annotations and the service
// cannot drift apart.
func attach(doc *openapi3.T, recorded []answer) error {
	byOp := map[string][]answer{}
	for _, a := range recorded {
		if a.op != tableOnly {
			byOp[a.op] = append(byOp[a.op], a)
		}
	}
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			seen[op.OperationID] = true
			answers := byOp[op.OperationID]
			for code, resp := range op.Responses.Map() {
				status, _ := strconv.Atoi(code)
				var mine []answer
				for _, a := range answers {
					if a.status == status {
						mine = append(mine, a)
					}
				}
				if status >= 400 && len(mine) == 0 {
					return fmt.Errorf("%s %s (%s) declares %d but no example answers it", method, path, op.OperationID, status)
				}
				if len(mine) == 0 {
					continue
				}
				mediaType := "application/problem+json"
				if status < 400 {
					mediaType = "application/json"
				}
				mt := resp.Value.Content.Get(mediaType)
				if mt == nil {
					return fmt.Errorf("%s %s: no %s content for %d", method, path, mediaType, status)
				}
				mt.Examples = openapi3.Examples{}
				var codes []string
				for _, a := range mine {
					mt.Examples[a.name] = &openapi3.ExampleRef{Value: &openapi3.Example{Summary: a.summary, Value: a.body}}
					if a.code != "" && !slices.Contains(codes, a.code) {
						codes = append(codes, a.code)
					}
					if a.retryAfter != "" {
						if resp.Value.Headers == nil {
							resp.Value.Headers = openapi3.Headers{}
						}
						resp.Value.Headers["Retry-After"] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
							Description: "seconds to wait before trying again",
							Schema:      openapi3.NewSchemaRef("", openapi3.NewIntegerSchema().WithMin(1)),
						}}}
					}
				}
				if len(codes) > 0 {
					sort.Strings(codes)
					resp.Value.Description = ptr(strings.TrimSpace(*resp.Value.Description) + " (`" + strings.Join(codes, "`, `") + "`)")
				}
			}
			for _, a := range answers {
				if op.Responses.Status(a.status) == nil {
					return fmt.Errorf("%s %s (%s) answered %d (%s), which it does not declare", method, path, op.OperationID, a.status, a.name)
				}
			}
		}
	}
	for op := range byOp {
		if !seen[op] {
			return fmt.Errorf("examples for %s, which the document does not have", op)
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// ordered writes doc as indented JSON with the paths in pathOrder, through
// jsontext's encoder, which keeps members in the order they are written.
func ordered(doc *openapi3.T) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var paths map[string]json.RawMessage
	if err := json.Unmarshal(top["paths"], &paths); err != nil {
		return nil, err
	}
	if len(paths) != len(pathOrder) {
		return nil, fmt.Errorf("%d paths, %d in pathOrder: add the new ones to it", len(paths), len(pathOrder))
	}
	var buf bytes.Buffer
	enc := jsontext.NewEncoder(&buf, jsontext.WithIndent("  "))
	write := func(tokens ...jsontext.Token) error {
		for _, t := range tokens {
			if err := enc.WriteToken(t); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write(jsontext.BeginObject); err != nil {
		return nil, err
	}
	for _, key := range []string{"openapi", "info", "tags", "paths", "components", "security"} {
		v, ok := top[key]
		if !ok {
			continue
		}
		if err := write(jsontext.String(key)); err != nil {
			return nil, err
		}
		if key != "paths" {
			if err := enc.WriteValue(jsontext.Value(v)); err != nil {
				return nil, err
			}
			continue
		}
		if err := write(jsontext.BeginObject); err != nil {
			return nil, err
		}
		for _, p := range pathOrder {
			v, ok := paths[p]
			if !ok {
				return nil, fmt.Errorf("pathOrder names %s, which the document does not have", p)
			}
			if err := write(jsontext.String(p)); err != nil {
				return nil, err
			}
			if err := enc.WriteValue(jsontext.Value(v)); err != nil {
				return nil, err
			}
		}
		if err := write(jsontext.EndObject); err != nil {
			return nil, err
		}
	}
	for key := range top {
		if !slices.Contains([]string{"openapi", "info", "tags", "paths", "components", "security"}, key) {
			return nil, fmt.Errorf("top-level member %s not written", key)
		}
	}
	if err := write(jsontext.EndObject); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// answer is one recorded answer of the service.
type answer struct {
	op, name, summary string
	status            int
	code              string // the problem's code
	retryAfter        string
	body              any
}

func decodeAnswer(op, name, summary string, status int, header http.Header, body io.Reader) (answer, error) {
	a := answer{op: op, name: name, summary: summary, status: status, retryAfter: header.Get("Retry-After")}
	raw, err := io.ReadAll(body)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		return a, fmt.Errorf("%s %s: not JSON: %s", op, name, raw)
	}
	if status >= 400 {
		if header.Get("Content-Type") != "application/problem+json" {
			return a, fmt.Errorf("%s %s: %d is not problem+json", op, name, status)
		}
		m, _ := a.body.(map[string]any)
		a.code, _ = m["code"].(string)
		if a.code == "" {
			return a, errors.New(op + " " + name + ": a problem without a code")
		}
	}
	return a, nil
}
