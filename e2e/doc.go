// Package e2e drives the built binary over TCP, as its callers and
// operators do: real Redis (single, Cluster, Sentinel), real signals, a
// real browser on Swagger UI. It holds tests only.
package e2e
