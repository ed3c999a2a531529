package e2e

import (
	"bufio"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/handlers"
)

// The attacks of a patient caller on the guard's edges, each against the
// real binary over TCP.

// call posts body to url with key (none when empty) and returns the
// status, the Retry-After header and the decoded answer.
func call(t *testing.T, url, key string, body any) (int, string, map[string]any) {
	t.Helper()
	headers := map[string]string{}
	if key != "" {
		headers["X-API-Key"] = key
	}
	return postHeaders(t, url, headers, body)
}

// secretN is a distinct base32 secret for each n.
func secretN(n int) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(fmt.Sprintf("secret-number-%020d", n)))
}

func currentToken(t *testing.T, base, key string, body map[string]any) string {
	t.Helper()
	status, _, got := call(t, base+"/generate/token", key, body)
	require.Equal(t, http.StatusOK, status, "%v", got)
	return got["token"].(string)
}

// TestFullStoreIsNoOracle: a full store once answered a wrong code 503
// (uncounted) and a right one 200 for a secret that had a record, so the
// status told right from wrong and the throttle never engaged. Now every
// wrong code for that secret is counted and locks it, and a secret without
// a record gets the same 503 for a right code as for a wrong one.
func TestFullStoreIsNoOracle(t *testing.T) {
	base, _, _ := startBinary(t, "GUARD_CAPACITY=40", "MAX_FAILURES=5")
	user := secretN(0)
	status, _, got := call(t, base+"/verify/token", "", map[string]any{"secret": user, "token": currentToken(t, base, "", map[string]any{"secret": user})})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, got["valid"])
	full := 0
	for i := 1; i <= 60; i++ {
		if status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": secretN(i), "token": "000000"}); status == http.StatusServiceUnavailable {
			full++
		}
	}
	require.Equal(t, 60-39, full, "the store filled with the other secrets")

	var statuses []int
	for range 10 {
		status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": user, "token": "000000"})
		statuses = append(statuses, status)
	}
	assert.Equal(t, []int{200, 200, 200, 200, 200, 429, 429, 429, 429, 429}, statuses, "wrong codes are counted and lock the secret")
	status, _, got = call(t, base+"/verify/token", "", map[string]any{"secret": user, "token": currentToken(t, base, "", map[string]any{"secret": user})})
	assert.Equal(t, http.StatusTooManyRequests, status, "the user's next code meets the lock: %v", got)

	// A secret without a record: right and wrong alike.
	fresh := secretN(100)
	right, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": fresh, "token": currentToken(t, base, "", map[string]any{"secret": fresh})})
	wrong, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": fresh, "token": "000000"})
	assert.Equal(t, http.StatusServiceUnavailable, right)
	assert.Equal(t, right, wrong)
}

// TestOneKeyCannotFillTheStore: key A floods with right codes of an hour's
// period (long-lived used records) and wrong codes; past its share it is
// refused 429 rate_limited, and key B's users keep verifying.
func TestOneKeyCannotFillTheStore(t *testing.T) {
	keyA, keyB := strings.Repeat("a", 32), strings.Repeat("b", 32)
	base, cmd, logs := startBinary(t, "GUARD_CAPACITY=200", "API_KEYS="+keyA+","+keyB)
	limited := 0
	for i := range 600 {
		body := map[string]any{"secret": secretN(i), "token": "000000"}
		if i%2 == 0 {
			body["period"] = 3600
			body["token"] = currentToken(t, base, keyA, map[string]any{"secret": secretN(i), "period": 3600})
		}
		status, retry, got := call(t, base+"/verify/token", keyA, body)
		if status == http.StatusTooManyRequests {
			limited++
			assert.Equal(t, "rate_limited", got["code"])
			assert.NotEmpty(t, retry)
			continue
		}
		require.Equal(t, http.StatusOK, status, "%v", got)
	}
	assert.Equal(t, 600-100, limited, "key A holds its share, 100 records, and no more")
	for i := 1000; i < 1050; i++ {
		s := secretN(i)
		status, _, got := call(t, base+"/verify/token", keyB, map[string]any{"secret": s, "token": currentToken(t, base, keyB, map[string]any{"secret": s})})
		require.Equal(t, http.StatusOK, status, "key B's user %d: %v", i, got)
		assert.Equal(t, true, got["valid"])
	}
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("X-API-Key", keyA)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	scrape, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(scrape), fmt.Sprintf(`totp_guard_refusals_total{key=%q,reason="rate_limited"} 500`, handlers.KeyName(keyA)))
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.NotContains(t, logs(), keyA)
}

// TestReissuedChallengesShareOneBudget: four challenges for one subject,
// five wrong codes each, once left the fifth verifying; now wrong codes
// count per subject across challenges, and past ten the subject's next
// challenge is too_many_attempts, its right code included.
func TestReissuedChallengesShareOneBudget(t *testing.T) {
	base, _, _ := startBinary(t)
	issue := func() (string, string) {
		status, _, got := call(t, base+"/challenge", "", map[string]any{"subject": "alice@example.com", "purpose": "login"})
		require.Equal(t, http.StatusOK, status, "%v", got)
		return got["challenge"].(string), got["code"].(string)
	}
	verify := func(ch, code string) (string, string) {
		status, retry, got := call(t, base+"/challenge/verify", "", map[string]any{"challenge": ch, "code": code, "subject": "alice@example.com", "purpose": "login"})
		require.Equal(t, http.StatusOK, status, "%v", got)
		reason, _ := got["reason"].(string)
		return reason, retry
	}
	var reasons []string
	for range 4 {
		ch, code := issue()
		for range 5 {
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			r, _ := verify(ch, wrong)
			reasons = append(reasons, r)
		}
	}
	assert.Equal(t, 10, strings.Count(strings.Join(reasons, " "), "mismatch"), "ten counted: %v", reasons)
	ch, code := issue()
	reason, retry := verify(ch, code)
	assert.Equal(t, "too_many_attempts", reason, "the fifth challenge's right code")
	assert.Equal(t, "3600", retry)

	status, _, got := call(t, base+"/challenge", "", map[string]any{"subject": "alice@example.com", "digits": 4})
	assert.Equal(t, http.StatusBadRequest, status, "4 digits need CHALLENGE_MIN_DIGITS lowered")
	assert.Equal(t, "digits", got["field"])
}

// TestLocksEscalateAgainstTheBinary: the second lock of a secret within a
// day is longer than the first.
func TestLocksEscalateAgainstTheBinary(t *testing.T) {
	base, _, _ := startBinary(t, "MAX_FAILURES=2", "FAILURE_WINDOW=2s")
	s := secretN(1)
	lock := func() int {
		for range 2 {
			status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": "000000"})
			require.Equal(t, http.StatusOK, status)
		}
		status, retry, got := call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": "000000"})
		require.Equal(t, http.StatusTooManyRequests, status, "%v", got)
		n, err := strconv.Atoi(retry)
		require.NoError(t, err)
		return n
	}
	first := lock()
	time.Sleep(time.Duration(first) * time.Second)
	second := lock()
	assert.Equal(t, 2, first)
	assert.Equal(t, 4, second, "the second lock doubles the first")
}

// TestClientsAgainstTheBinary: a remote attacker's client c1 locks itself
// while the user's device c2 verifies; 25 clients meet the secret's
// ceiling, and then the secret is locked for all.
func TestClientsAgainstTheBinary(t *testing.T) {
	base, cmd, logs := startBinary(t, "MAX_FAILURES=5")
	s := secretN(7)
	for range 5 {
		status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": "000000", "client": "198.51.100.1"})
		require.Equal(t, http.StatusOK, status)
	}
	status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": currentToken(t, base, "", map[string]any{"secret": s}), "client": "198.51.100.1"})
	assert.Equal(t, http.StatusTooManyRequests, status, "c1 is locked")
	status, _, got := call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": currentToken(t, base, "", map[string]any{"secret": s}), "client": "203.0.113.7"})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, got["valid"], "c2, the user's device, verifies")

	locked := 0
	for i := range 25 {
		status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": "000000", "client": fmt.Sprintf("192.0.2.%d", i)})
		if status == http.StatusTooManyRequests {
			locked++
		}
	}
	assert.Equal(t, 25-(20-5), locked, "the ceiling of 20 over all clients, c1's five included")
	status, _, _ = call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": "123456", "client": "203.0.113.7"})
	assert.Equal(t, http.StatusTooManyRequests, status, "past the ceiling, every client waits")
	status, _, got = call(t, base+"/verify/token", "", map[string]any{"secret": s, "token": "000000", "client": strings.Repeat("x", 129)})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "client", got["field"])
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.NotContains(t, logs(), "198.51.100.1", "a client is never logged")
}

// TestRecoveryCodeWithASmallerSet: a used recovery code sent again with a
// smaller set, as while the caller deletes hashes, is refused.
func TestRecoveryCodeWithASmallerSet(t *testing.T) {
	base, _, _ := startBinary(t, "GUARD_KEY="+strings.Repeat("g", 32))
	status, _, got := call(t, base+"/generate/recovery-codes", "", map[string]any{"count": 3})
	require.Equal(t, http.StatusOK, status)
	var codes, hashes []string
	for i := range 3 {
		codes = append(codes, got["codes"].([]any)[i].(string))
		hashes = append(hashes, got["hashes"].([]any)[i].(string))
	}
	assert.True(t, strings.HasPrefix(hashes[0], "hmac-sha256:g"), "keyed hashes: %s", hashes[0])
	for _, i := range []int{1, 0} {
		_, _, got := call(t, base+"/verify/recovery-code", "", map[string]any{"code": codes[i], "hashes": hashes})
		require.Equal(t, true, got["valid"], "%v", got)
	}
	_, _, got = call(t, base+"/verify/recovery-code", "", map[string]any{"code": codes[0], "hashes": []string{hashes[0], hashes[2]}})
	assert.Equal(t, false, got["valid"])
	assert.Equal(t, "replayed", got["reason"])
}

// TestHeavyVerificationsWaitForASlot: resyncs over a long SHA-512 key
// (about 1,000 times the cheapest verification's work) run a few at a
// time; the others are told to retry, so the cheap ones keep their CPU.
func TestHeavyVerificationsWaitForASlot(t *testing.T) {
	base, _, _ := startBinary(t, "GUARD=off")
	secret := strings.Repeat("ab", 1024)
	type answer struct{ status int }
	answers := make(chan answer, 40)
	for range 40 {
		go func() {
			status, _, _ := call(t, base+"/hotp/resync", "", map[string]any{"secret": secret, "encoding": "hex", "algorithm": "SHA512",
				"token": "000000", "token2": "000000", "counter": 0, "look_ahead": 1000})
			answers <- answer{status}
		}()
	}
	busy := 0
	for range 40 {
		a := <-answers
		if a.status == http.StatusServiceUnavailable {
			busy++
		} else {
			assert.Equal(t, http.StatusOK, a.status)
		}
	}
	assert.Positive(t, busy, "forty at once: some wait")
}

// TestKeysRotateOnSIGHUP: SIGHUP puts the file's keys in force with no
// restart; a file that does not read keeps the keys in force.
func TestKeysRotateOnSIGHUP(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	oldKey, newKey := strings.Repeat("o", 32), strings.Repeat("n", 32)
	require.NoError(t, os.WriteFile(file, []byte("login verify "+oldKey+"\n"), 0o600))
	base, cmd, _ := startBinary(t, "API_KEYS_FILE="+file)
	verify := func(key string) int {
		status, _, _ := call(t, base+"/verify/token", key, map[string]any{"secret": secretN(3), "token": "000000"})
		return status
	}
	require.Equal(t, http.StatusOK, verify(oldKey))
	require.Equal(t, http.StatusUnauthorized, verify(newKey))

	require.NoError(t, os.WriteFile(file, []byte("login verify "+newKey+"\n"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return verify(newKey) == http.StatusOK }, 5*time.Second, 50*time.Millisecond)
	assert.Equal(t, http.StatusUnauthorized, verify(oldKey), "the removed key is refused")

	require.NoError(t, os.WriteFile(file, nil, 0o600)) // a secret that was not mounted
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, http.StatusOK, verify(newKey), "an empty file keeps the keys in force")
	status, _, _ := call(t, base+"/verify/token", "", map[string]any{"secret": secretN(3), "token": "000000"})
	assert.Equal(t, http.StatusUnauthorized, status, "and never opens the service")
}

// TestRefusesToStartOpen: with no keys beyond loopback, or a keys file
// that holds none, or a short key, the binary does not start.
func TestRefusesToStartOpen(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"every interface, no keys", []string{"-addr", "0.0.0.0:0"}, nil, "needs API keys"},
		{"an empty keys file", []string{"-addr", "127.0.0.1:0"}, []string{"API_KEYS_FILE=" + empty}, "no API key"},
		{"a one-character key", []string{"-addr", "127.0.0.1:0"}, []string{"API_KEYS=k"}, "at least 32"},
		{"pprof beyond loopback", []string{"-addr", "127.0.0.1:0", "-pprof-addr", "0.0.0.0:0"}, nil, "PPROF_ADDR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(buildBinary(t), tt.args...)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "%s", out)
			assert.Contains(t, string(out), tt.want)
		})
	}
}

// TestSIGHUPUnderLoad: keys are swapped again and again while a key that
// stays is used without pause; not one of its requests fails.
func TestSIGHUPUnderLoad(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	stay, other := strings.Repeat("s", 32), strings.Repeat("o", 32)
	write := func(extra string) {
		tmp := file + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte("login verify "+stay+"\n"+extra), 0o600))
		require.NoError(t, os.Rename(tmp, file)) // as a mounted secret changes: whole
	}
	write("")
	base, cmd, logs := startBinary(t, "API_KEYS_FILE="+file)
	stop := make(chan struct{})
	type result struct{ sent, failed int }
	results := make(chan result)
	for w := range 4 {
		go func() {
			var r result
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					results <- r
					return
				default:
				}
				body := `{"secret":"` + secretN(w*1_000_000+i) + `","token":"000000"}`
				req, _ := http.NewRequest(http.MethodPost, base+"/verify/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", stay)
				resp, err := client.Do(req)
				r.sent++
				if err != nil {
					r.failed++
					continue
				}
				if resp.StatusCode != http.StatusOK {
					r.failed++
				}
				resp.Body.Close()
			}
		}()
	}
	for i := range 10 {
		if i%2 == 0 {
			write("ops metrics " + other + "\n")
		} else {
			write("")
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	var total result
	for range 4 {
		r := <-results
		total.sent += r.sent
		total.failed += r.failed
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	t.Logf("%d requests with the key that stays, %d failed, over 10 reloads", total.sent, total.failed)
	require.Positive(t, total.sent)
	assert.Zero(t, total.failed)
	assert.GreaterOrEqual(t, strings.Count(logs(), `"msg":"API keys reloaded"`), 10)
}

// TestBodyShorterThanItsLength: a body is read to the length it states, so
// one that ends early is refused whole, never decoded from what arrived:
// for a small stated length, whose buffer is sized ahead, and for the
// largest, which is not.
func TestBodyShorterThanItsLength(t *testing.T) {
	base, _, _ := startBinary(t)
	body := `{"secret":"` + secretN(1) + `","token":"000000"}`
	for _, stated := range []int{len(body) + 1, 4 << 10, handlers.MaxBodyBytes} {
		t.Run(strconv.Itoa(stated), func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			_, err = fmt.Fprintf(conn, "POST /verify/token HTTP/1.1\r\nHost: totp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", stated, body)
			require.NoError(t, err)
			require.NoError(t, conn.(*net.TCPConn).CloseWrite())
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			var problem struct{ Code string }
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&problem))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "invalid_json", problem.Code)
		})
	}
}
