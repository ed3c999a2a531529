// Package clientflow holds the tests of the client module that need the
// service: they live in the server's module, so that the client's module
// requires nothing but the standard library. They run the real router,
// built by handlers.New as main builds it.
package clientflow
