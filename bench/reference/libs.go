//go:build libs

package main

// Built with -tags libs, the reference links every package the service's
// main links, and so every library the service links, and runs their init
// functions without calling any of them afterwards: it holds what they
// build at init (phonenumbers' metadata, Gin's validator, the protobuf
// descriptors) and maps their code, as the service does. What it costs
// beyond the plain reference is what linking those libraries costs any
// service, whatever its code does per request.
import (
	_ "github.com/acme/totp/access"
	_ "github.com/acme/totp/challenge"
	_ "github.com/acme/totp/config"
	_ "github.com/acme/totp/delivery"
	_ "github.com/acme/totp/events"
	_ "github.com/acme/totp/guard"
	_ "github.com/acme/totp/handlers"
	_ "github.com/acme/totp/otp"
	_ "github.com/acme/totp/recovery"
	_ "github.com/acme/totp/telemetry"
	_ "github.com/acme/totp/trust"
)
