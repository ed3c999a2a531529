package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/totp/client"
	"github.com/acme/totp/client/api"
)

// These tests need no service: what the client does with answers that are
// not the service's, and with its own settings. The flows against the real
// service are in the server module (internal/clientflow), so that this
// module requires nothing but the standard library.

func TestNotAProblem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Health(context.Background())
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not a *client.Error", err)
	}
	if e.Status != http.StatusBadGateway || e.Code != "http_502" {
		t.Errorf("got %d %q", e.Status, e.Code)
	}
}

func TestContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = c.Health(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}

	c, err = client.New(srv.URL, client.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = c.Health(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "totp:8080", "ftp://totp", "http://"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestNoRedirectAway: a redirect to another host is refused, so the API
// key never travels there; one on the same host is followed.
func TestNoRedirectAway(t *testing.T) {
	var leaked atomic.Bool
	away := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "" {
			leaked.Store(true)
		}
	}))
	defer away.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, away.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer home.Close()
	c, err := client.New(home.URL, client.WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateSecret(context.Background(), api.SecretQuery{}); err == nil || !strings.Contains(err.Error(), "refused a redirect") {
		t.Fatalf("got %v, want a refused redirect", err)
	}
	if leaked.Load() {
		t.Fatal("the key reached the other host")
	}
}
