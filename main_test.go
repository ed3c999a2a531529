package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/redistest"
	"github.com/acme/totp/otp"
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
		{"defaults: loopback", nil, nil, "127.0.0.1:8080", slog.LevelInfo, false},
		{"PORT without keys: beyond loopback, refused", nil, map[string]string{"PORT": "9000"}, "", 0, true},
		{"PORT with ALLOW_NO_AUTH", nil, map[string]string{"PORT": "9000", "ALLOW_NO_AUTH": "true"}, ":9000", slog.LevelInfo, false},
		{"every interface with a key", nil, map[string]string{"ADDR": ":8080", "API_KEYS": strings.Repeat("k", 32)}, ":8080", slog.LevelInfo, false},
		{"every interface without keys", nil, map[string]string{"ADDR": ":8080"}, "", 0, true},
		{"ALLOW_NO_AUTH nonsense", nil, map[string]string{"ALLOW_NO_AUTH": "maybe"}, "", 0, true},
		{"PPROF_ADDR beyond loopback", nil, map[string]string{"PPROF_ADDR": ":6060"}, "", 0, true},
		{"SEAL_CONTEXT nonsense", nil, map[string]string{"SEAL_CONTEXT": "sometimes"}, "", 0, true},
		{"ADDR beats PORT", nil, map[string]string{"PORT": "9000", "ADDR": "127.0.0.1:7000"}, "127.0.0.1:7000", slog.LevelInfo, false},
		{"flag beats env", []string{"-addr", "127.0.0.1:1"}, map[string]string{"ADDR": "127.0.0.1:2"}, "127.0.0.1:1", slog.LevelInfo, false},
		{"log level from env", nil, map[string]string{"LOG_LEVEL": "debug"}, "127.0.0.1:8080", slog.LevelDebug, false},
		{"bad log level", []string{"-log-level", "loud"}, nil, "", 0, true},
		{"bad shutdown timeout", []string{"-shutdown-timeout", "soon"}, nil, "", 0, true},
		{"stray argument", []string{"serve"}, nil, "", 0, true},
		{"SEAL_KEYS key short", nil, map[string]string{"SEAL_KEYS": "a:c2hvcnQ="}, "", 0, true},
		{"SEAL_KEYS ID invalid", nil, map[string]string{"SEAL_KEYS": "a.b:" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, "", 0, true},
		{"SEAL_KEYS ID twice", []string{"-seal-keys", "a:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + ",a:" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, nil, "", 0, true},
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

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildBinary builds the service once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "totp-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "totp")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// startBinary builds the service, starts it on a free loopback port and
// returns its base URL and the running command.
// startBinary starts the service on a free port and returns its base URL,
// its process, and its log, which is whole once the process has exited.
func startBinary(t *testing.T, env ...string) (string, *exec.Cmd, func() string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	cmd := exec.Command(buildBinary(t), "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	cmd.Stdout = os.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The "listening" line names the address actually bound.
	logs := new(bytes.Buffer)
	lines := bufio.NewScanner(stderr)
	var first struct{ Msg, Addr string }
	for first.Msg != "listening" {
		require.True(t, lines.Scan(), "no listening line from the binary; it logged:\n%s", logs)
		logs.Write(append(lines.Bytes(), '\n'))
		require.NoError(t, json.Unmarshal(lines.Bytes(), &first))
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for lines.Scan() {
			logs.Write(append(lines.Bytes(), '\n'))
		}
	}()
	return "http://" + first.Addr, cmd, func() string {
		<-ended
		return logs.String()
	}
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
	base, cmd, logs := startBinary(t)

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

	// A Prometheus scrape shows what just happened, and nothing secret.
	resp, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	scrape, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	for _, line := range []string{
		`totp_verifications_total{result="valid"} 1`,
		`http_requests_total{code="200",key="",method="POST",route="/verify/token"} 1`,
		`http_requests_total{code="400",key="",method="POST",route="/verify/token"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/generate/secret",le="+Inf"} 1`,
		`process_resident_memory_bytes`,
		`go_gc_duration_seconds`,
	} {
		assert.Contains(t, string(scrape), line)
	}
	assert.NotContains(t, string(scrape), secret.Secret)

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

	// Every line on stderr is JSON; each API request left an access line
	// at info (the scrape and the healthcheck log at debug); the last line
	// says the service stopped; no secret or code was logged.
	type line struct {
		Level, Msg, Method, Route string
		Status                    int
	}
	var access []line
	var last line
	for _, l := range strings.Split(strings.TrimSpace(logs()), "\n") {
		last = line{}
		require.NoError(t, json.Unmarshal([]byte(l), &last), l)
		if last.Msg == "request" {
			access = append(access, last)
			assert.Regexp(t, `"request_id":"[0-9a-f]{24}"`, l)
		}
	}
	assert.Equal(t, "stopped", last.Msg)
	assert.Contains(t, access, line{Level: "INFO", Msg: "request", Method: "POST", Route: "/verify/token", Status: 200})
	assert.Contains(t, access, line{Level: "INFO", Msg: "request", Method: "POST", Route: "/verify/token", Status: 400})
	assert.Len(t, access, 5, "secret, token, two verifications and the request in flight")
	for _, l := range access {
		assert.NotContains(t, []string{"/metrics", "/healthz"}, l.Route)
	}
	for _, secret := range []string{secret.Secret, token.Token, "e2e"} {
		assert.NotContains(t, logs(), secret)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, io.Discard))
	assert.NotEmpty(t, strings.TrimSpace(out.String()))
	assert.Equal(t, strings.TrimSpace(out.String()), buildVersion())
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

func TestParseGuardConfig(t *testing.T) {
	keysFile := filepath.Join(t.TempDir(), "keys")
	k := func(c byte) string { return strings.Repeat(string(c), 32) }
	require.NoError(t, os.WriteFile(keysFile, []byte("# sibling services\nregister enrol "+k('r')+"\n\n  login verify,challenge sha256:"+sha256Hex(k('l'))+"  \n"), 0o600))
	emptyFile := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(emptyFile, []byte("# nothing mounted\n\n"), 0o600))
	tests := []struct {
		name      string
		env       map[string]string
		wantErr   string
		wantGuard bool
		wantKeys  []string
	}{
		{"defaults: guard on in memory, no keys", nil, "", true, nil},
		{"guard off", map[string]string{"GUARD": "off"}, "", false, nil},
		{"guard nonsense", map[string]string{"GUARD": "maybe"}, "guard must be on or off", false, nil},
		{"redis without guard key", map[string]string{"REDIS_URL": "redis://localhost:6379"}, "REDIS_URL needs GUARD_KEY", false, nil},
		{"redis with guard key", map[string]string{"REDIS_URL": "redis://localhost:6379", "GUARD_KEY": "0123456789abcdef"}, "", true, nil},
		{"short guard key", map[string]string{"GUARD_KEY": "short"}, "at least 16 bytes", false, nil},
		{"max failures zero", map[string]string{"MAX_FAILURES": "0"}, "max failures", false, nil},
		{"failure window nonsense", map[string]string{"FAILURE_WINDOW": "soon"}, "failure window", false, nil},
		{"api keys, bare and named", map[string]string{"API_KEYS": k('a') + ", ops metrics " + k('b') + ","}, "", true, []string{access.BareName(k('a')), "ops"}},
		{"api keys file", map[string]string{"API_KEYS_FILE": keysFile, "API_KEYS": k('a')}, "", true, []string{access.BareName(k('a')), "register", "login"}},
		{"missing api keys file", map[string]string{"API_KEYS_FILE": keysFile + ".nope"}, "API keys file", false, nil},
		{"empty api keys file", map[string]string{"API_KEYS_FILE": emptyFile}, "no API key", false, nil},
		{"short api key", map[string]string{"API_KEYS": "k"}, "at least 32 characters", false, nil},
		{"unknown scope", map[string]string{"API_KEYS": "x admin " + k('x')}, "unknown scope", false, nil},
		{"one key twice", map[string]string{"API_KEYS": "a all " + k('a') + ",b verify " + k('a')}, "same key", false, nil},
		{"bad sha256 key", map[string]string{"API_KEYS": "a all sha256:abc"}, "64 hex digits", false, nil},
		{"challenge keys", map[string]string{"CHALLENGE_KEYS": "new:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))}, "", true, nil},
		{"the same bare challenge key twice", map[string]string{"CHALLENGE_KEYS": base64.StdEncoding.EncodeToString(make([]byte, 32)) + "," + base64.StdEncoding.EncodeToString(make([]byte, 32))}, "listed twice", false, nil},
		{"short challenge key", map[string]string{"CHALLENGE_KEYS": base64.StdEncoding.EncodeToString(make([]byte, 16))}, "CHALLENGE_KEYS entry 1", false, nil},
		{"challenge key not base64", map[string]string{"CHALLENGE_KEYS": "not base64!"}, "CHALLENGE_KEYS entry 1", false, nil},
		{"key share zero", map[string]string{"GUARD_KEY_SHARE": "0"}, "guard key share", false, nil},
		{"key share over one", map[string]string{"GUARD_KEY_SHARE": "1.5"}, "guard key share", false, nil},
		{"key share not a number", map[string]string{"GUARD_KEY_SHARE": "half"}, "guard key share", false, nil},
		{"secret ceiling below max failures", map[string]string{"MAX_FAILURES": "5", "SECRET_MAX_FAILURES": "4"}, "secret max failures", false, nil},
		{"subject max failures zero", map[string]string{"CHALLENGE_SUBJECT_MAX_FAILURES": "0"}, "challenge subject max failures", false, nil},
		{"challenge min digits 3", map[string]string{"CHALLENGE_MIN_DIGITS": "3"}, "challenge min digits", false, nil},
		{"capacity zero", map[string]string{"GUARD_CAPACITY": "0"}, "guard capacity", false, nil},
		{"short recovery key", map[string]string{"RECOVERY_KEYS": "r1:" + base64.StdEncoding.EncodeToString(make([]byte, 16))}, "RECOVERY_KEYS entry 1", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(nil, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantGuard, cfg.guard)
			assert.Equal(t, tt.wantKeys, nilIfEmpty(keyNames(cfg.apiKeys)))
			assert.GreaterOrEqual(t, len(cfg.guardKey), minGuardKeyLen)
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestGuardDefaults: what the new settings default to, and where a
// recovery key comes from.
func TestGuardDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, 0.5, cfg.keyShare)
	assert.Equal(t, 4*cfg.maxFailures, cfg.secretMax)
	assert.Equal(t, challenge.DefaultSubjectMaxFailures, cfg.challengeSubjectMax)
	assert.Equal(t, challenge.DefaultMinDigits, cfg.challengeMinDigits)
	assert.Empty(t, cfg.recoveryKeys, "no GUARD_KEY: plain hashes, not a key lost at restart")

	withGuard, err := parseConfig(nil, func(k string) string { return map[string]string{"GUARD_KEY": strings.Repeat("g", 32)}[k] })
	require.NoError(t, err)
	require.Len(t, withGuard.recoveryKeys, 1)
	assert.Regexp(t, `^g[0-9a-f]{8}$`, withGuard.recoveryKeys[0].ID)
	assert.NotEqual(t, withGuard.guardKey, withGuard.recoveryKeys[0].Secret, "derived, not the guard key itself")
	other, err := parseConfig(nil, func(k string) string { return map[string]string{"GUARD_KEY": strings.Repeat("h", 32)}[k] })
	require.NoError(t, err)
	assert.NotEqual(t, withGuard.recoveryKeys[0].ID, other.recoveryKeys[0].ID, "another guard key, another ID")

	explicit, err := parseConfig(nil, func(k string) string {
		return map[string]string{"GUARD_KEY": strings.Repeat("g", 32), "RECOVERY_KEYS": "r1:" + base64.StdEncoding.EncodeToString(make([]byte, 32))}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, "r1", explicit.recoveryKeys[0].ID, "RECOVERY_KEYS wins")
}

func TestDefaultCapacity(t *testing.T) {
	tests := []struct {
		name     string
		limit    uint64
		want     int
		wantFrom string
	}{
		{"no limit", 0, guard.DefaultCapacity, "default"},
		{"512 MiB", 512 << 20, (256 << 20) / guard.RecordBytes, "memory limit"},
		{"a tiny limit keeps a floor", 128 << 10, 1000, "memory limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := defaultCapacity(tt.limit)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantFrom, from)
		})
	}
	t.Run("GOMEMLIMIT", func(t *testing.T) {
		old := debug.SetMemoryLimit(-1)
		t.Cleanup(func() { debug.SetMemoryLimit(old) })
		debug.SetMemoryLimit(300 << 20)
		assert.Equal(t, uint64(300<<20), memoryLimit(func(k string) string { return map[string]string{"GOMEMLIMIT": "300MiB"}[k] }))
	})
}

// TestFleet runs two instances of the binary against one real Redis: a code
// accepted on A is replayed on B, failures on A and B add up to one lock,
// and when Redis dies verification fails closed and recovers with it.
// verdict is what a fleet test reads of a verification's answer.
type verdict struct {
	Valid  bool
	Reason string
	Code   string
}

// fleetCalls are the fleet tests' calls: a new secret and its current
// code from the instance at a, and a verification on any instance.
func fleetCalls(t *testing.T, a string) (newSecret func() string, codeOf func(string) string, verify func(base, secret, token string) (int, verdict)) {
	newSecret = func() string {
		resp, err := http.Get(a + "/generate/secret")
		require.NoError(t, err)
		defer resp.Body.Close()
		var s struct{ Secret string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
		return s.Secret
	}
	codeOf = func(secret string) string {
		var tok struct{ Token string }
		post(t, a+"/generate/token", map[string]string{"secret": secret}, &tok)
		return tok.Token
	}
	verify = func(base, secret, token string) (int, verdict) {
		var v verdict
		resp := post(t, base+"/verify/token", map[string]string{"secret": secret, "token": token}, &v)
		return resp.StatusCode, v
	}
	return newSecret, codeOf, verify
}

func TestFleet(t *testing.T) {
	srv := redistest.Start(t)
	env := []string{
		"REDIS_URL=" + srv.URL(), "GUARD_KEY=fleet-test-guard-key-0123456789", "MAX_FAILURES=3",
		"CHALLENGE_KEYS=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
	}
	a, _, _ := startBinary(t, env...)
	b, _, _ := startBinary(t, env...)

	newSecret, codeOf, verify := fleetCalls(t, a)

	// Replay across instances.
	secret := newSecret()
	code := codeOf(secret)
	status, v := verify(a, secret, code)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, v.Valid, "accepted on A")
	status, v = verify(b, secret, code)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, verdict{Reason: "replayed"}, v, "replayed on B")

	// A challenge issued on A verifies on B, once.
	var iss struct{ Challenge, Code string }
	post(t, a+"/challenge", map[string]string{"subject": "fleet@example.com"}, &iss)
	var cv struct {
		Valid  bool
		Reason string
	}
	post(t, b+"/challenge/verify", map[string]string{"challenge": iss.Challenge, "code": iss.Code, "subject": "fleet@example.com"}, &cv)
	assert.True(t, cv.Valid, "issued on A, verified on B")
	post(t, a+"/challenge/verify", map[string]string{"challenge": iss.Challenge, "code": iss.Code, "subject": "fleet@example.com"}, &cv)
	assert.Equal(t, "replayed", cv.Reason, "and not again on A")

	// Failures add up across instances.
	locked := newSecret()
	for i, base := range []string{a, b, a} {
		status, v := verify(base, locked, "000000")
		require.Equal(t, http.StatusOK, status, "failure %d", i+1)
		assert.Equal(t, "mismatch", v.Reason)
	}
	status, v = verify(b, locked, "000000")
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "too_many_attempts", v.Code)
	status, _ = verify(a, locked, codeOf(locked))
	assert.Equal(t, http.StatusTooManyRequests, status, "a right code on the other instance is locked out too")

	// Redis dies: fail closed, and readiness says so.
	srv.Stop()
	fresh := newSecret()
	status, v = verify(a, fresh, codeOf(fresh))
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "store_unavailable", v.Code)
	resp, err := http.Get(b + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	// Redis returns: so does verification.
	srv.Restart(t)
	require.Eventually(t, func() bool {
		resp, err := http.Get(b + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	status, v = verify(b, fresh, codeOf(fresh))
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, v.Valid)
}

// TestStartupFailureIsJSON: a service that cannot start says why in a JSON
// line on stderr, like every other line there, and exits 1.
func TestStartupFailureIsJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tests := []struct {
		name string
		args []string
		env  []string
	}{
		{"bad flag value", []string{"-guard", "maybe"}, nil},
		{"unknown flag", []string{"-nope"}, nil},
		{"redis without guard key", nil, []string{"REDIS_URL=redis://127.0.0.1:1/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(buildBinary(t), tt.args...)
			cmd.Env = append(os.Environ(), tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 1, exit.ExitCode())
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			for _, l := range lines {
				var v struct{ Level, Msg, Err string }
				require.NoError(t, json.Unmarshal([]byte(l), &v), l)
			}
			var last struct{ Level, Msg, Err string }
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
			assert.Equal(t, "ERROR", last.Level)
			assert.NotEmpty(t, last.Err)
		})
	}
}

// TestFleetOnRedisCluster: two instances on a real three-primary Redis
// Cluster. Every guard script touches keys of one hash slot, so none is
// refused with CROSSSLOT; a code used on one instance is replayed on the
// other; of 50 concurrent uses of one code, spread over both, exactly one
// is valid; failures on both add up to one lock; recovery codes, whose
// failures count per set of hashes, work too.
func TestFleetOnRedisCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	env := []string{
		"REDIS_MODE=cluster", "REDIS_URL=" + cluster.URL(), "GUARD_KEY=cluster-test-guard-key-0123456789", "MAX_FAILURES=3",
		"CHALLENGE_KEYS=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
	}
	a, _, _ := startBinary(t, env...)
	b, _, _ := startBinary(t, env...)

	newSecret, codeOf, verify := fleetCalls(t, a)

	secret := newSecret()
	code := codeOf(secret)
	status, v := verify(a, secret, code)
	require.Equal(t, http.StatusOK, status, "%+v", v)
	assert.True(t, v.Valid, "accepted on A")
	status, v = verify(b, secret, code)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, verdict{Reason: "replayed"}, v, "replayed on B")

	race := newSecret()
	raceCode := codeOf(race)
	var (
		wg    sync.WaitGroup
		valid atomic.Int32
	)
	for i := range 50 {
		wg.Go(func() {
			status, v := verify([]string{a, b}[i%2], race, raceCode)
			assert.Equal(t, http.StatusOK, status, "%+v", v)
			if v.Valid {
				valid.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), valid.Load(), "exactly one of 50 concurrent uses is valid")

	locked := newSecret()
	for i, base := range []string{a, b, a} {
		status, v := verify(base, locked, "000000")
		require.Equal(t, http.StatusOK, status, "failure %d: %+v", i+1, v)
	}
	status, v = verify(b, locked, codeOf(locked))
	assert.Equal(t, http.StatusTooManyRequests, status, "locked on both after failures on both")
	assert.Equal(t, "too_many_attempts", v.Code)

	var rc struct{ Codes, Hashes []string }
	post(t, a+"/generate/recovery-codes", map[string]int{"count": 3}, &rc)
	var rv struct {
		Valid  bool
		Reason string
	}
	resp := post(t, b+"/verify/recovery-code", map[string]any{"code": rc.Codes[1], "hashes": rc.Hashes}, &rv)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, rv.Valid)
	post(t, a+"/verify/recovery-code", map[string]any{"code": rc.Codes[1], "hashes": rc.Hashes}, &rv)
	assert.Equal(t, "replayed", rv.Reason)
}

// TestEvictionPolicyWarning: a Redis that may evict keys with a TTL is
// named in a warning at start; one with noeviction is not.
func TestEvictionPolicyWarning(t *testing.T) {
	for _, tt := range []struct {
		policy   string
		wantWarn bool
	}{
		{"noeviction", false},
		{"allkeys-lru", true},
		{"volatile-ttl", true},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			srv := redistest.StartWith(t, "--maxmemory-policy", tt.policy)
			var logs bytes.Buffer
			store, closeStore, err := newStore(config{guard: true, redisURL: srv.URL(), redisMode: "single", redisPrefix: "totp:"}, newLogger(&logs, slog.LevelInfo))
			require.NoError(t, err)
			defer closeStore()
			require.NotNil(t, store)
			assert.Equal(t, tt.wantWarn, strings.Contains(logs.String(), "maxmemory-policy"), logs.String())
			if tt.wantWarn {
				assert.Contains(t, logs.String(), tt.policy)
			}
		})
	}
}

// TestRedisURLs: each shape parses as go-redis parses it, and an error
// never repeats the URL, which may hold a password.
func TestRedisURLs(t *testing.T) {
	tests := []struct {
		name      string
		mode, url string
		wantAddrs []string
		wantErr   bool
	}{
		{"single", "single", "redis://:s3cret@10.0.0.1:6379/0", []string{"10.0.0.1:6379"}, false},
		{"single with TLS", "single", "rediss://:s3cret@redis.internal:6380", []string{"redis.internal:6380"}, false},
		{"cluster", "cluster", "redis://:s3cret@10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}, false},
		{"sentinel", "sentinel", "redis://:s3cret@10.0.0.1:26379?master_name=main&addr=10.0.0.2:26379", []string{"10.0.0.1:26379", "10.0.0.2:26379"}, false},
		{"sentinel without a master name", "sentinel", "redis://:s3cret@10.0.0.1:26379", nil, true},
		{"single, not a URL", "single", "http://:s3cret@10.0.0.1", nil, true},
		{"cluster, unknown parameter", "cluster", "redis://:s3cret@10.0.0.1:7000?colour=red", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, addrs, err := newRedisClient(tt.mode, tt.url)
			if tt.wantErr {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "s3cret")
				return
			}
			require.NoError(t, err)
			defer client.Close()
			assert.Equal(t, tt.wantAddrs, addrs)
		})
	}
}

// TestFleetThroughSentinel: an instance finds its Redis through a real
// Sentinel, and the guard works there.
func TestFleetThroughSentinel(t *testing.T) {
	sentinel := redistest.StartSentinel(t)
	env := []string{"REDIS_MODE=sentinel", "REDIS_URL=" + sentinel.URL(), "GUARD_KEY=sentinel-test-guard-key-0123456789"}
	a, _, _ := startBinary(t, env...)
	b, _, _ := startBinary(t, env...)
	var s struct{ Secret string }
	resp, err := http.Get(a + "/generate/secret")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	resp.Body.Close()
	var tok struct{ Token string }
	post(t, a+"/generate/token", map[string]string{"secret": s.Secret}, &tok)
	var v struct {
		Valid  bool
		Reason string
	}
	post(t, a+"/verify/token", map[string]string{"secret": s.Secret, "token": tok.Token}, &v)
	assert.True(t, v.Valid)
	post(t, b+"/verify/token", map[string]string{"secret": s.Secret, "token": tok.Token}, &v)
	assert.Equal(t, "replayed", v.Reason)
}

// hammer verifies fresh secrets' current codes against base from workers
// goroutines until stop is closed, and reports every answer.
type answer struct {
	at     time.Time // when the request was sent
	done   time.Time // when its answer came
	status int       // 0: no answer (a connection error)
	valid  bool
	code   string
}

func hammer(t *testing.T, base string, workers int, stop <-chan struct{}) <-chan answer {
	t.Helper()
	out := make(chan answer, 1<<16)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				secret := make([]byte, 20)
				binary.BigEndian.PutUint64(secret, uint64(w)<<40|uint64(i))
				key, err := otp.NewKey(secret, otp.DefaultParams)
				if !assert.NoError(t, err) {
					return
				}
				code, err := key.Generate(time.Now())
				if !assert.NoError(t, err) {
					return
				}
				body := fmt.Sprintf(`{"secret":"%x","encoding":"hex","token":"%s"}`, secret, code.Token)
				// A request counts as sent when it was written to the
				// connection: one that waited to be written (a worker
				// descheduled, a connection being closed as idle) was
				// never the server's, whenever its goroutine started it.
				a := answer{at: time.Now()}
				req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
					WroteRequest: func(httptrace.WroteRequestInfo) { a.at = time.Now() },
				}), http.MethodPost, base+"/verify/token", strings.NewReader(body))
				if !assert.NoError(t, err) {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					var v struct {
						Valid bool
						Code  string
					}
					_ = json.NewDecoder(resp.Body).Decode(&v)
					resp.Body.Close()
					a.status, a.valid, a.code = resp.StatusCode, v.Valid, v.Code
				}
				a.done = time.Now()
				out <- a
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	return out
}

// TestRedisKilledUnderLoad: while valid codes for fresh secrets pour in,
// Redis is killed and started again. No code is accepted while it is
// down, every answer then is 503 store_unavailable, and the service
// recovers by itself once Redis is back.
func TestRedisKilledUnderLoad(t *testing.T) {
	srv := redistest.Start(t)
	base, _, _ := startBinary(t, "REDIS_URL="+srv.URL(), "GUARD_KEY=kill-test-guard-key-0123456789")
	stop := make(chan struct{})
	answers := hammer(t, base, 4, stop)

	time.Sleep(500 * time.Millisecond)
	srv.Stop()
	down := time.Now()
	time.Sleep(3 * time.Second)
	restart := time.Now()
	srv.Restart(t)
	up := time.Now()
	time.Sleep(2 * time.Second)
	close(stop)

	var before, during, after, unavailable, sentDuring int
	var slowest time.Duration
	var recovered time.Time
	for a := range answers {
		switch {
		case a.at.Before(down):
			before++
			assert.True(t, a.status != http.StatusOK || a.valid, "a fresh code before the kill is valid")
		case a.at.Before(restart) && !a.done.Before(restart):
			sentDuring++
		case a.at.Before(restart):
			// Sent and answered while Redis was dead. (One sent then but
			// answered after the restart may have waited for Redis and
			// been recorded there: that is no use accepted unrecorded.)
			during++
			slowest = max(slowest, a.done.Sub(a.at))
			assert.False(t, a.valid, "no code is accepted while Redis is down")
			if assert.Equal(t, http.StatusServiceUnavailable, a.status) {
				assert.Equal(t, "store_unavailable", a.code)
				unavailable++
			}
		case a.at.After(up):
			after++
			if a.valid && (recovered.IsZero() || a.at.Before(recovered)) {
				recovered = a.at
			}
		}
	}
	require.NotZero(t, before)
	require.NotZero(t, during, "requests were sent and answered while Redis was down (%d sent then)", sentDuring)
	require.False(t, recovered.IsZero(), "verification recovered without a restart of the service")
	t.Logf("answers: %d before the kill, %d while down (%d of them 503 store_unavailable, the slowest in %v), %d after Redis was back; first valid answer %v after Redis answered again",
		before, during, unavailable, slowest.Round(time.Millisecond), after, recovered.Sub(up).Round(time.Millisecond))
	assert.Less(t, recovered.Sub(up), 5*time.Second)
}

// TestSIGTERMUnderLoad: SIGTERM while requests pour in drops none that was
// sent before it, and the service exits 0 within SHUTDOWN_TIMEOUT.
func TestSIGTERMUnderLoad(t *testing.T) {
	base, cmd, _ := startBinary(t, "SHUTDOWN_TIMEOUT=5s")
	stop := make(chan struct{})
	answers := hammer(t, base, 8, stop)
	time.Sleep(time.Second)
	signalled := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "exit 0")
		t.Logf("exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s (SHUTDOWN_TIMEOUT) after SIGTERM")
	}
	close(stop)

	// A request sent a moment before the signal may still be on its way
	// into a connection the server is closing as idle; 5 ms is margin.
	var before, dropped, after int
	for a := range answers {
		if a.at.Before(signalled.Add(-5 * time.Millisecond)) {
			before++
			if a.status != http.StatusOK {
				dropped++
			}
		} else {
			after++
		}
	}
	t.Logf("%d requests sent before SIGTERM, %d of them dropped; %d sent after, refused or answered", before, dropped, after)
	require.NotZero(t, before)
	assert.Zero(t, dropped)
}

// TestHardwareTokenFlow is a hardware token's life against the real
// binary: enrol with counter 0, verify the first press, lose 50 presses,
// fail with the default look-ahead, resynchronise with two presses in a
// row, go on; and oathtool, which shares no code with the service,
// agrees with every code the service makes.
func TestHardwareTokenFlow(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("oathtool is not installed (apt-get install oathtool), and CI must run this test")
		}
		t.Skip("!!! oathtool is not installed (apt-get install oathtool): SKIPPING the hardware-token flow")
	}
	base, _, _ := startBinary(t)

	var enrol struct{ Secret, URI string }
	resp, err := http.Get(base + "/generate/secret?type=hotp&counter=0&encoding=hex&account=token-1&issuer=Acme")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&enrol))
	resp.Body.Close()
	require.True(t, strings.HasPrefix(enrol.URI, "otpauth://hotp/Acme:token-1?"), enrol.URI)
	assert.True(t, strings.HasSuffix(enrol.URI, "&counter=0"), enrol.URI)

	// The token's presses, as oathtool computes them: counters 0 to 60.
	out, err := exec.Command("oathtool", "--hotp", "-c", "0", "-w", "60", enrol.Secret).Output()
	require.NoError(t, err)
	press := strings.Fields(string(out))
	require.Len(t, press, 61)
	for counter, want := range press {
		var got struct{ Token string }
		post(t, base+"/hotp/token", map[string]any{"secret": enrol.Secret, "encoding": "hex", "counter": counter}, &got)
		require.Equal(t, want, got.Token, "counter %d", counter)
	}

	type verdict struct {
		Valid       bool
		Reason      string
		Counter     *uint64
		NextCounter *uint64 `json:"next_counter"`
	}
	verify := func(route string, body map[string]any) verdict {
		body["secret"], body["encoding"] = enrol.Secret, "hex"
		var v verdict
		resp := post(t, base+route, body, &v)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return v
	}
	v := verify("/hotp/verify", map[string]any{"token": press[0], "counter": 0})
	require.True(t, v.Valid)
	stored := *v.NextCounter
	assert.Equal(t, uint64(1), stored)

	// Presses 1 to 50 are lost; press 51 is past the default look-ahead.
	v = verify("/hotp/verify", map[string]any{"token": press[51], "counter": stored})
	assert.Equal(t, "mismatch", v.Reason)

	// The user presses twice more and types both: the service finds them.
	v = verify("/hotp/resync", map[string]any{"token": press[52], "token2": press[53], "counter": stored})
	require.True(t, v.Valid, "%+v", v)
	assert.Equal(t, uint64(53), *v.Counter)
	stored = *v.NextCounter
	assert.Equal(t, uint64(54), stored)

	v = verify("/hotp/verify", map[string]any{"token": press[54], "counter": stored})
	require.True(t, v.Valid)
	assert.Equal(t, uint64(55), *v.NextCounter)
	v = verify("/hotp/verify", map[string]any{"token": press[53], "counter": 40, "look_ahead": 20})
	assert.Equal(t, "replayed", v.Reason, "an older press, even with a counter that reaches it")
}

// TestConfigurationLineMasksSecrets: the start-up line gives every setting
// and of each secret only whether it is set.
func TestConfigurationLineMasksSecrets(t *testing.T) {
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:9"}, func(k string) string {
		return map[string]string{
			"GUARD_KEY": "guard-key-secret-0123456789", "API_KEYS": "login verify api-secret-1-of-thirty-two-bytes-long,api-secret-2-of-thirty-two-bytes-long",
			"REDIS_URL": "redis://:redis-secret@10.0.0.1:6379/0", "CHALLENGE_KEYS": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
			"SEAL_KEYS": "2026-11:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)) + ",2025-05:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)),
		}[k]
	})
	require.NoError(t, err)
	var out bytes.Buffer
	newLogger(&out, slog.LevelInfo).Info("configuration", cfg.attrs()...)
	line := out.String()
	for _, secret := range []string{"guard-key-secret", "api-secret", "redis-secret", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))} {
		assert.NotContains(t, line, secret)
	}
	var got map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, "127.0.0.1:9", got["addr"])
	assert.Equal(t, "set", got["guard_key"])
	assert.Equal(t, []any{"login", access.BareName("api-secret-2-of-thirty-two-bytes-long")}, got["api_keys"], "names, never keys")
	assert.Equal(t, []any{"72cd6e84"}, got["challenge_keys"], "a bare key's derived ID")
	assert.Equal(t, []any{"2026-11", "2025-05"}, got["seal_keys"], "IDs, the sealing one first")
	assert.Equal(t, "redis://:xxxxx@10.0.0.1:6379/0", got["redis_url"])
	wantCapacity, _ := defaultCapacity(memoryLimit(func(string) string { return "" }))
	assert.EqualValues(t, wantCapacity, got["guard_capacity"])
}

// TestSealedRotationAgainstTheBinary: a sibling service that stores only
// sealed secrets lives through a key rotation, run as an operator would:
// restart with the new key first, reseal every row, restart without the
// old key.
func TestSealedRotationAgainstTheBinary(t *testing.T) {
	oldKey := "2025-05:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	newKey := "2026-11:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	stop := func(cmd *exec.Cmd) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, cmd.Wait())
	}
	codeOf := func(secret string) string {
		raw, err := otp.DecodeSecret("base32", secret)
		require.NoError(t, err)
		key, err := otp.NewKey(raw, otp.DefaultParams)
		require.NoError(t, err)
		c, err := key.Generate(time.Now())
		require.NoError(t, err)
		return c.Token
	}
	verify := func(base, sealed, context, secret string) (int, api.VerifyResponse, api.Problem) {
		b, err := json.Marshal(map[string]any{"sealed": sealed, "context": context, "token": codeOf(secret)})
		require.NoError(t, err)
		resp, err := http.Post(base+"/verify/token", "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var v api.VerifyResponse
		var p api.Problem
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.Unmarshal(raw, &v))
		} else {
			require.NoError(t, json.Unmarshal(raw, &p))
		}
		return resp.StatusCode, v, p
	}

	// Enrolment under the old key: the row gets sealed and key_id.
	base, cmd, _ := startBinary(t, "SEAL_KEYS="+oldKey)
	resp, err := http.Get(base + "/generate/secret?account=alice&issuer=Acme&seal=true&context=user-1")
	require.NoError(t, err)
	var enrol api.SecretResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&enrol))
	resp.Body.Close()
	require.Equal(t, "2025-05", enrol.KeyID)
	status, v, _ := verify(base, enrol.Sealed, "user-1", enrol.Secret)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, v.Valid)
	stop(cmd)

	// The new key goes first; the old one still opens; every row is resealed.
	base, cmd, _ = startBinary(t, "SEAL_KEYS="+newKey+","+oldKey)
	status, v, _ = verify(base, enrol.Sealed, "user-1", enrol.Secret)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, v.Valid, "the old key opens while it is listed")
	var moved api.ResealResponse
	post(t, base+"/reseal", map[string]any{"sealed": enrol.Sealed, "context": "user-1"}, &moved)
	assert.True(t, moved.Rotated)
	assert.Equal(t, "2026-11", moved.KeyID)
	stop(cmd)

	// The old key is dropped: only the resealed row works.
	base, cmd, logs := startBinary(t, "SEAL_KEYS="+newKey)
	status, _, p := verify(base, enrol.Sealed, "user-1", enrol.Secret)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_sealed", p.Code)
	status, v, _ = verify(base, moved.Sealed, "user-1", enrol.Secret)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, v.Valid)
	stop(cmd)
	for _, secret := range []string{enrol.Secret, enrol.Sealed, moved.Sealed, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))} {
		assert.NotContains(t, logs(), secret, "no secret, sealed secret or key in the logs")
	}

	// Without SEAL_KEYS, an instance says how to make one.
	base, _, _ = startBinary(t)
	status, _, p = verify(base, moved.Sealed, "user-1", enrol.Secret)
	assert.Equal(t, http.StatusNotImplemented, status)
	assert.Equal(t, "sealing_not_configured", p.Code)
}

// TestTracesReachAnOTLPReceiver: with OTEL_EXPORTER_OTLP_ENDPOINT set, the
// binary continues the caller's W3C trace context and sends its spans over
// OTLP/HTTP to the receiver this test runs, and the access line carries
// the trace ID; probes make no span; no secret or code is in a span.
// Without the variable, traceparent is ignored and no line has a trace ID.
func TestTracesReachAnOTLPReceiver(t *testing.T) {
	var (
		mu    sync.Mutex
		spans []*tracepb.Span
		raw   bytes.Buffer
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/traces" || err != nil {
			http.NotFound(w, r)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		raw.Write(body)
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
		mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	defer receiver.Close()

	const (
		traceID    = "4bf92f3577b34da6a3ce929d0e0e4736"
		parentSpan = "00f067aa0ba902b7"
		secret     = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	)
	send := func(base string) {
		req, err := http.NewRequest(http.MethodPost, base+"/verify/token", strings.NewReader(`{"secret":"`+secret+`","token":"000000"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Traceparent", "00-"+traceID+"-"+parentSpan+"-01")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp, err = http.Get(base + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
	}

	base, cmd, logs := startBinary(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+receiver.URL, "OTEL_BSP_SCHEDULE_DELAY=50", "LOG_LEVEL=debug")
	send(base)
	var got *tracepb.Span
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range spans {
			if hex.EncodeToString(s.TraceId) == traceID {
				got = s
			}
		}
		return got != nil
	}, 10*time.Second, 20*time.Millisecond, "no span of the trace reached the receiver")
	assert.Equal(t, parentSpan, hex.EncodeToString(got.ParentSpanId), "the caller's span is the parent")
	assert.Contains(t, got.Name, "/verify/token")
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, got.Kind)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	mu.Lock()
	for _, s := range spans {
		assert.NotContains(t, s.Name, "healthz", "probes make no span")
	}
	assert.NotContains(t, raw.String(), secret, "no secret in a span")
	assert.NotContains(t, raw.String(), "000000", "no code in a span")
	mu.Unlock()
	var access struct {
		TraceID string `json:"trace_id"`
	}
	for _, line := range strings.Split(logs(), "\n") {
		if strings.Contains(line, `"route":"/verify/token"`) {
			require.NoError(t, json.Unmarshal([]byte(line), &access))
		}
	}
	assert.Equal(t, traceID, access.TraceID, "the access line names the trace")

	// Without the variable: no spans, and no trace ID taken from the caller.
	base, cmd, logs = startBinary(t)
	send(base)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	assert.NotContains(t, logs(), "trace_id")
	assert.NotContains(t, logs(), traceID)
}

// TestUnreachableCollectorLogsJSON: when spans cannot be exported,
// OpenTelemetry's complaint is a JSON line like every other on stderr, not
// its default plain text.
func TestUnreachableCollectorLogsJSON(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	endpoint := "http://" + closed.Addr().String()
	require.NoError(t, closed.Close()) // nothing listens there now

	base, cmd, logs := startBinary(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint, "OTEL_BSP_SCHEDULE_DELAY=20", "OTEL_EXPORTER_OTLP_TIMEOUT=300")
	resp, err := http.Post(base+"/generate/token", "application/json", strings.NewReader(`{"secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}`))
	require.NoError(t, err)
	resp.Body.Close()
	time.Sleep(time.Second) // a batch is sent, and fails
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	reported := false
	for _, line := range strings.Split(strings.TrimSpace(logs()), "\n") {
		var v struct{ Msg string }
		require.NoError(t, json.Unmarshal([]byte(line), &v), "not JSON: %s", line)
		reported = reported || v.Msg == "opentelemetry" || v.Msg == "traces not flushed"
	}
	assert.True(t, reported, "the failed export is reported:\n%s", logs())
}

// TestRedactURL: no credential of a REDIS_URL reaches a log line, in any
// of the shapes go-redis reads.
func TestRedactURL(t *testing.T) {
	tests := []struct{ name, give, secret string }{
		{"single, userinfo", "redis://user:pw-one@10.0.0.1:6379/0", "pw-one"},
		{"sentinel, password parameter", "redis://10.0.0.1:26379?master_name=m&password=pw-two", "pw-two"},
		{"sentinel, sentinel_password", "redis://10.0.0.1:26379?master_name=m&sentinel_password=pw-three&addr=10.0.0.2:26379", "pw-three"},
		{"cluster, userinfo and addr", "redis://:pw-four@10.0.0.1:7000?addr=10.0.0.2:7000", "pw-four"},
		{"unparsable", "redis://pw-five@[::1", "pw-five"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactURL(tt.give)
			assert.NotContains(t, got, tt.secret)
			assert.NotEmpty(t, got)
		})
	}
}
