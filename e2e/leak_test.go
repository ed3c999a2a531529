package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/internal/redistest"
)

// TestNoSecretInAnyLogLine: under single, Sentinel and Cluster URLs that
// carry a password, every line the binary writes (start-up, requests,
// go-redis's own complaints, shutdown) is searched for every key,
// password and secret the test set.
func TestNoSecretInAnyLogLine(t *testing.T) {
	const password = "redis-pass-do-not-log-4711"
	apiKey := "api-key-do-not-log-" + strings.Repeat("x", 16)
	guardKey := "guard-key-do-not-log-0123456789"
	b64 := func(b byte) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32))) }
	sealKey, challengeKey, recoveryKey := b64('s'), b64('c'), b64('r')
	single := redistest.StartWith(t, "--requirepass", password)
	sentinel := redistest.StartSentinel(t)
	cluster := redistest.StartCluster(t, 3)
	for _, tt := range []struct{ name, mode, url string }{
		{"single, password in the userinfo", "single", "redis://:" + password + "@" + single.Addr + "/0"},
		{"sentinel, password parameter", "sentinel", sentinel.URL() + "&password=" + password},
		{"cluster, password in the userinfo", "cluster", "redis://:" + password + "@" + cluster.Nodes[0].Addr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, cmd, logs := startBinary(t, "LOG_LEVEL=debug", "REDIS_MODE="+tt.mode, "REDIS_URL="+tt.url,
				"GUARD_KEY="+guardKey, "API_KEYS=ops all "+apiKey, "SEAL_KEYS=k1:"+sealKey,
				"CHALLENGE_KEYS=c1:"+challengeKey, "RECOVERY_KEYS=r1:"+recoveryKey)
			secret := secretN(9)
			_, _, sealed := call(t, base+"/seal", apiKey, map[string]any{"secret": secret, "context": "user-1"})
			token := currentToken(t, base, apiKey, map[string]any{"secret": secret})
			call(t, base+"/verify/token", apiKey, map[string]any{"secret": secret, "token": token})
			call(t, base+"/verify/token", "wrong-"+apiKey, map[string]any{"secret": secret, "token": token})
			_, _, ch := call(t, base+"/challenge", apiKey, map[string]any{"subject": "alice@example.com"})
			_, _, rc := call(t, base+"/generate/recovery-codes", apiKey, map[string]any{"count": 1})
			req, err := http.NewRequest(http.MethodGet, base+"/readyz", nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			time.Sleep(100 * time.Millisecond)
			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			out := logs()
			require.Contains(t, out, `"msg":"configuration"`)
			// Codes are six digits, which a timestamp may hold by chance: a
			// leaked one would be a quoted value.
			never := []string{password, apiKey, guardKey, sealKey, challengeKey, recoveryKey, secret, `"` + token + `"`, "alice@example.com"}
			if code, ok := ch["code"].(string); ok {
				never = append(never, `"`+code+`"`)
			}
			for _, v := range []any{sealed["sealed"], ch["challenge"]} {
				if s, ok := v.(string); ok && s != "" {
					never = append(never, s)
				}
			}
			if codes, ok := rc["codes"].([]any); ok {
				for _, c := range codes {
					never = append(never, c.(string))
				}
			}
			for _, s := range never {
				assert.NotContains(t, out, s)
			}
		})
	}
}
