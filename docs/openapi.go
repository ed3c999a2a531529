package docs

import _ "embed"

// OpenAPI is openapi.json: the OpenAPI 3 document that Swagger UI shows
// and code generators read, written from swagger.json (which swag
// generates) by `go run ./internal/openapi`.
//
//go:embed openapi.json
var OpenAPI []byte
