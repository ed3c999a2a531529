package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
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

	"github.com/acme/totp/client/api"
	"github.com/acme/totp/handlers"
	"github.com/acme/totp/internal/redistest"
	"github.com/acme/totp/otp"
)

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
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/acme/totp").CombinedOutput()
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

// verdict is what a fleet test reads of a verification's answer.
type verdict struct {
	Valid  bool
	Reason string
	Code   string
}

// fleet is two instances of the binary sharing one store, A and B, and
// the calls the fleet tests make of them.
type fleet struct {
	t    *testing.T
	a, b string
}

// startFleet starts two instances on the store storeEnv names, with one
// guard key and one challenge key between them, so that either checks
// what the other issued.
func startFleet(t *testing.T, storeEnv ...string) fleet {
	t.Helper()
	env := append([]string{
		"GUARD_KEY=fleet-test-guard-key-0123456789", "MAX_FAILURES=3",
		"CHALLENGE_KEYS=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
	}, storeEnv...)
	a, _, _ := startBinary(t, env...)
	b, _, _ := startBinary(t, env...)
	return fleet{t, a, b}
}

// newSecret is a new secret from A.
func (f fleet) newSecret() string {
	resp, err := http.Get(f.a + "/generate/secret")
	require.NoError(f.t, err)
	defer resp.Body.Close()
	var s struct{ Secret string }
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&s))
	return s.Secret
}

// codeOf is secret's current code, from A.
func (f fleet) codeOf(secret string) string {
	var tok struct{ Token string }
	post(f.t, f.a+"/generate/token", map[string]string{"secret": secret}, &tok)
	return tok.Token
}

// verify verifies token for secret on the instance at base.
func (f fleet) verify(base, secret, token string) (int, verdict) {
	var v verdict
	resp := post(f.t, base+"/verify/token", map[string]string{"secret": secret, "token": token}, &v)
	return resp.StatusCode, v
}

// usedOnceAcross: a code accepted on A is replayed on B.
func (f fleet) usedOnceAcross() {
	secret := f.newSecret()
	code := f.codeOf(secret)
	status, v := f.verify(f.a, secret, code)
	require.Equal(f.t, http.StatusOK, status, "%+v", v)
	assert.True(f.t, v.Valid, "accepted on A")
	status, v = f.verify(f.b, secret, code)
	require.Equal(f.t, http.StatusOK, status)
	assert.Equal(f.t, verdict{Reason: "replayed"}, v, "replayed on B")
}

// TestFleet runs two instances of the binary against one real Redis: a code
// accepted on A is replayed on B, failures on A and B add up to one lock,
// and when Redis dies verification fails closed and recovers with it.
func TestFleet(t *testing.T) {
	srv := redistest.Start(t)
	f := startFleet(t, "REDIS_URL="+srv.URL())
	a, b := f.a, f.b
	f.usedOnceAcross()

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
	locked := f.newSecret()
	for i, base := range []string{a, b, a} {
		status, v := f.verify(base, locked, "000000")
		require.Equal(t, http.StatusOK, status, "failure %d", i+1)
		assert.Equal(t, "mismatch", v.Reason)
	}
	status, v := f.verify(b, locked, "000000")
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "too_many_attempts", v.Code)
	status, _ = f.verify(a, locked, f.codeOf(locked))
	assert.Equal(t, http.StatusTooManyRequests, status, "a right code on the other instance is locked out too")

	// Redis dies: fail closed, and readiness says so.
	srv.Stop()
	fresh := f.newSecret()
	status, v = f.verify(a, fresh, f.codeOf(fresh))
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
	status, v = f.verify(b, fresh, f.codeOf(fresh))
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
	f := startFleet(t, "REDIS_MODE=cluster", "REDIS_URL="+cluster.URL())
	a, b := f.a, f.b
	f.usedOnceAcross()

	race := f.newSecret()
	raceCode := f.codeOf(race)
	var (
		wg    sync.WaitGroup
		valid atomic.Int32
	)
	for i := range 50 {
		wg.Go(func() {
			status, v := f.verify([]string{a, b}[i%2], race, raceCode)
			assert.Equal(t, http.StatusOK, status, "%+v", v)
			if v.Valid {
				valid.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), valid.Load(), "exactly one of 50 concurrent uses is valid")

	locked := f.newSecret()
	for i, base := range []string{a, b, a} {
		status, v := f.verify(base, locked, "000000")
		require.Equal(t, http.StatusOK, status, "failure %d: %+v", i+1, v)
	}
	status, v := f.verify(b, locked, f.codeOf(locked))
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

// TestFleetThroughSentinel: an instance finds its Redis through a real
// Sentinel, and the guard works there.
func TestFleetThroughSentinel(t *testing.T) {
	sentinel := redistest.StartSentinel(t)
	startFleet(t, "REDIS_MODE=sentinel", "REDIS_URL="+sentinel.URL()).usedOnceAcross()
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
// sent before it, readiness fails at once while the last requests are
// answered, and the service exits 0 within SHUTDOWN_TIMEOUT.
func TestSIGTERMUnderLoad(t *testing.T) {
	base, cmd, _ := startBinary(t, "SHUTDOWN_TIMEOUT=5s")
	stop := make(chan struct{})
	answers := hammer(t, base, 8, stop)
	time.Sleep(time.Second)
	signalled := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var ready struct{ Code string }
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable && json.NewDecoder(resp.Body).Decode(&ready) == nil
	}, handlers.MaxDrain/2, 10*time.Millisecond, "readiness fails during the drain")
	assert.Equal(t, "shutting_down", ready.Code)
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
