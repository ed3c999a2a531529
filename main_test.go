package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantAddr string
		wantLvl  slog.Level
		wantErr  bool
	}{
		{"defaults", nil, nil, ":8080", slog.LevelInfo, false},
		{"PORT", nil, map[string]string{"PORT": "9000"}, ":9000", slog.LevelInfo, false},
		{"ADDR beats PORT", nil, map[string]string{"PORT": "9000", "ADDR": "127.0.0.1:7000"}, "127.0.0.1:7000", slog.LevelInfo, false},
		{"flag beats env", []string{"-addr", ":1"}, map[string]string{"ADDR": ":2"}, ":1", slog.LevelInfo, false},
		{"log level from env", nil, map[string]string{"LOG_LEVEL": "debug"}, ":8080", slog.LevelDebug, false},
		{"bad log level", []string{"-log-level", "loud"}, nil, "", 0, true},
		{"bad shutdown timeout", []string{"-shutdown-timeout", "soon"}, nil, "", 0, true},
		{"stray argument", []string{"serve"}, nil, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantAddr, cfg.addr)
			assert.Equal(t, tt.wantLvl, cfg.logLevel)
		})
	}
}

// startBinary builds the service, starts it on a free loopback port and
// returns its base URL and the running command.
func startBinary(t *testing.T, env ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "totp")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The "listening" line names the address actually bound.
	logs := new(bytes.Buffer)
	lines := bufio.NewScanner(stdout)
	var first struct{ Msg, Addr string }
	for first.Msg != "listening" {
		require.True(t, lines.Scan(), "no listening line from the binary; it logged:\n%s", logs)
		logs.Write(append(lines.Bytes(), '\n'))
		require.NoError(t, json.Unmarshal(lines.Bytes(), &first))
	}
	go func() {
		for lines.Scan() {
			logs.Write(append(lines.Bytes(), '\n'))
		}
	}()
	return "http://" + first.Addr, cmd, logs
}

func post(t *testing.T, url string, body any, into any) *http.Response {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	if into != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
	}
	return resp
}

// TestBinaryEndToEnd walks the whole flow against the real binary over TCP,
// then stops it with SIGTERM while a request is in flight.
func TestBinaryEndToEnd(t *testing.T) {
	base, cmd, _ := startBinary(t)

	resp, err := http.Get(base + "/generate/secret?account=e2e%40example.com&issuer=Acme&qr=128")
	require.NoError(t, err)
	var secret struct{ Secret, URI, QR string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&secret))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Contains(t, secret.URI, "secret="+secret.Secret)
	assert.True(t, strings.HasPrefix(secret.QR, "data:image/png;base64,"))

	var token struct {
		Token     string
		Remaining int
	}
	resp = post(t, base+"/generate/token", map[string]string{"secret": secret.Secret}, &token)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, token.Token, 6)

	var verify struct {
		Valid bool
		Drift *int
	}
	resp = post(t, base+"/verify/token", map[string]string{"secret": secret.Secret, "token": token.Token}, &verify)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, verify.Valid)
	require.NotNil(t, verify.Drift)
	assert.LessOrEqual(t, *verify.Drift, 0, "the code was generated now or, across a step boundary, a step ago")

	var problem struct{ Code, Field string }
	resp = post(t, base+"/verify/token", map[string]string{"secret": "!!", "token": "1"}, &problem)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "invalid_secret", problem.Code)

	// The healthcheck subcommand finds the instance on its address.
	addr := strings.TrimPrefix(base, "http://")
	out, err := exec.Command(cmd.Path, "healthcheck", "-addr", addr).CombinedOutput()
	assert.NoError(t, err, string(out))

	// A slow request in flight when SIGTERM arrives still completes.
	pr, pw := io.Pipe()
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/generate/token", "application/json", pr)
		if err != nil {
			inflight <- 0
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	_, err = pw.Write([]byte(`{"secret":`))
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond) // let the request reach the handler
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(100 * time.Millisecond)
	_, err = pw.Write([]byte(`"` + secret.Secret + `"}`))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	assert.Equal(t, http.StatusOK, <-inflight)

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "clean exit after SIGTERM")
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after SIGTERM")
	}

	// Nothing answers any more, and the healthcheck says so.
	_, err = exec.Command(cmd.Path, "healthcheck", "-addr", addr).CombinedOutput()
	assert.Error(t, err)
}

func TestRunFailsOnBusyPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first := make(chan error, 1)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		first <- run(ctx, []string{"-addr", ln.Addr().String()}, func(string) string { return "" }, io.Discard)
	}()
	select {
	case err := <-first:
		assert.Error(t, err)
	case <-ctx.Done():
		t.Fatal("run did not fail on a busy port")
	}
}
