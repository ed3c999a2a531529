// Package docs holds the service's OpenAPI (Swagger 2.0) document, which
// swag generates from the handlers' annotations:
//
//	go tool swag init -g main.go -o docs --outputTypes json,yaml
//
// Only swagger.json and swagger.yaml are generated; this file embeds the
// first. The service does not import package swag at run time: swag's root
// package is its parser, and linking it would bring go/types,
// golang.org/x/tools and some 60 more packages into the binary.
package docs

import _ "embed"

// SwaggerJSON is swagger.json, served as /swagger/doc.json.
//
//go:embed swagger.json
var SwaggerJSON []byte
