package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrustedDevicesAgainstTheBinary: a device's token is issued, checks
// and comes back refreshed; each wrong subject, device and epoch is its
// reason; a changed byte anywhere is invalid_token; a challenge or a
// sealed secret under the very same key is no token; without TRUST_KEYS,
// 501.
func TestTrustedDevicesAgainstTheBinary(t *testing.T) {
	key := "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("t", 32)))
	base, _, _ := startBinary(t, "TRUST_KEYS="+key, "CHALLENGE_KEYS="+key, "SEAL_KEYS="+key, "SEAL_CONTEXT=optional")
	status, _, got := call(t, base+"/trust", "", map[string]any{"subject": "user-42", "device": "d-1", "epoch": 7})
	require.Equal(t, http.StatusOK, status, "%v", got)
	token := got["token"].(string)
	assert.True(t, strings.HasPrefix(token, "t1.k1."))

	verify := func(token, subject, device string, epoch int) map[string]any {
		status, _, got := call(t, base+"/trust/verify", "", map[string]any{"token": token, "subject": subject, "device": device, "epoch": epoch})
		require.Equal(t, http.StatusOK, status, "%v", got)
		return got
	}
	ok := verify(token, "user-42", "d-1", 7)
	assert.Equal(t, true, ok["valid"])
	assert.NotEmpty(t, ok["token"], "refreshed")
	assert.Equal(t, true, verify(ok["token"].(string), "user-42", "d-1", 7)["valid"], "the refreshed token holds")
	for _, tt := range []struct {
		name, subject, device string
		epoch                 int
		want                  string
	}{
		{"another user", "user-43", "d-1", 7, "wrong_subject"},
		{"another device", "user-42", "d-2", 7, "wrong_device"},
		{"signed out everywhere", "user-42", "d-1", 8, "revoked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := verify(token, tt.subject, tt.device, tt.epoch)
			assert.Equal(t, false, got["valid"])
			assert.Equal(t, tt.want, got["reason"])
			assert.NotContains(t, got, "token")
		})
	}
	for i := 0; i < len(token); i += 3 {
		b := []byte(token)
		b[i] ^= 0x01
		assert.Equal(t, "invalid_token", verify(string(b), "user-42", "d-1", 7)["reason"], "byte %d", i)
	}
	status, _, ch := call(t, base+"/challenge", "", map[string]any{"subject": "user-42"})
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "invalid_token", verify(ch["challenge"].(string), "user-42", "d-1", 7)["reason"], "a challenge under the same key")
	status, _, sealed := call(t, base+"/seal", "", map[string]any{"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"})
	require.Equal(t, http.StatusOK, status, "%v", sealed)
	assert.Equal(t, "invalid_token", verify(sealed["sealed"].(string), "user-42", "d-1", 7)["reason"], "a sealed secret under the same key")
	status, _, got = call(t, base+"/generate/token", "", map[string]any{"sealed": token})
	assert.Equal(t, http.StatusBadRequest, status, "a token is not a sealed secret")
	assert.Equal(t, "invalid_sealed", got["code"])

	plain, _, _ := startBinary(t)
	status, _, got = call(t, plain+"/trust", "", map[string]any{"subject": "user-42", "device": "d-1"})
	assert.Equal(t, http.StatusNotImplemented, status)
	assert.Equal(t, "trust_not_configured", got["code"])
}
