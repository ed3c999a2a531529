package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/fault"
)

var errShuttingDown = fault.New(fault.Unavailable, api.CodeShuttingDown, "", "the instance is shutting down")

// MaxDrain is the longest Serve goes on answering after it is told to
// stop, before it closes its connections.
const MaxDrain = time.Second

// Serve answers on ln with h, through a server with read-header, read,
// write and idle timeouts (a slow client holds a connection for seconds,
// not for ever), until ctx is done; then it stops within shutdownTimeout.
//
// It goes on answering for a drain of MaxDrain (at most half of
// shutdownTimeout) before net/http's Shutdown: Shutdown closes every
// connection it counts idle, and a kept-alive connection whose next
// request has been sent but not yet read counts idle, so that request
// would be lost. Config.Stopping, closed with ctx, turns /readyz to 503
// for the drain. Shutdown then lets the requests in flight finish in the
// time left.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, shutdownTimeout time.Duration) error {
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	drain := min(MaxDrain, shutdownTimeout/2)
	log.Info("shutting down", "drain", drain.String(), "timeout", shutdownTimeout.String())
	time.Sleep(drain)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout-drain)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
