package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/handlers"
)

// TestServeAnswersWhatWasSentBeforeTheStop: a request written to a
// kept-alive connection just after the stop is still answered, where
// net/http's Shutdown alone would close the connection under it as idle;
// then Serve returns cleanly after the drain.
func TestServeAnswersWhatWasSentBeforeTheStop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	served := make(chan error, 1)
	go func() { served <- handlers.Serve(ctx, ln, h, slog.New(slog.DiscardHandler), 10*time.Second) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	replies := bufio.NewReader(conn)
	get := func() *http.Response {
		_, err := fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: totp\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, err := http.ReadResponse(replies, nil)
		require.NoError(t, err, "the request was dropped")
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusOK, get().StatusCode) // the connection is now idle, kept alive

	stopped := time.Now()
	stop()
	assert.Equal(t, http.StatusOK, get().StatusCode, "sent on the idle connection as the stop came")

	select {
	case err := <-served:
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(stopped), handlers.MaxDrain, "it drained first")
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}
