package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/telemetry"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, io.Discard))
	assert.NotEmpty(t, strings.TrimSpace(out.String()))
	assert.Equal(t, strings.TrimSpace(out.String()), telemetry.Version(version))
}

func TestRunFailsOnBusyPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first := make(chan error, 1)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		first <- run(ctx, []string{"-addr", ln.Addr().String()}, func(string) string { return "" }, io.Discard, io.Discard)
	}()
	select {
	case err := <-first:
		assert.Error(t, err)
	case <-ctx.Done():
		t.Fatal("run did not fail on a busy port")
	}
}
