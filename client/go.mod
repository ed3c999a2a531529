module github.com/acme/totp/client

// The client needs only the standard library, and no newer Go than this,
// so a caller's build gains one module and keeps its own Go version.
go 1.22
