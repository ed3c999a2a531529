package config_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/access"
	"github.com/acme/totp/challenge"
	"github.com/acme/totp/config"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/telemetry"
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
			cfg, err := config.Parse(tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantAddr, cfg.Addr)
			assert.Equal(t, tt.wantLvl, cfg.LogLevel)
		})
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
		{"failure window nonsense", map[string]string{"FAILURE_WINDOW": "soon"}, "FAILURE_WINDOW must be a Go duration", false, nil},
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
		{"key share not a number", map[string]string{"GUARD_KEY_SHARE": "half"}, "GUARD_KEY_SHARE must be a number", false, nil},
		{"secret ceiling below max failures", map[string]string{"MAX_FAILURES": "5", "SECRET_MAX_FAILURES": "4"}, "secret max failures", false, nil},
		{"subject max failures zero", map[string]string{"CHALLENGE_SUBJECT_MAX_FAILURES": "0"}, "challenge subject max failures", false, nil},
		{"challenge min digits 3", map[string]string{"CHALLENGE_MIN_DIGITS": "3"}, "challenge min digits", false, nil},
		{"capacity zero", map[string]string{"GUARD_CAPACITY": "0"}, "guard capacity", false, nil},
		{"short recovery key", map[string]string{"RECOVERY_KEYS": "r1:" + base64.StdEncoding.EncodeToString(make([]byte, 16))}, "RECOVERY_KEYS entry 1", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(nil, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantGuard, cfg.Guard)
			assert.Equal(t, tt.wantKeys, nilIfEmpty(config.KeyNames(cfg.APIKeys)))
			assert.GreaterOrEqual(t, len(cfg.GuardKey), config.MinGuardKeyLen)
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
	cfg, err := config.Parse(nil, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, 0.5, cfg.KeyShare)
	assert.Equal(t, 4*cfg.MaxFailures, cfg.SecretMaxFailures)
	assert.Equal(t, challenge.DefaultSubjectMaxFailures, cfg.ChallengeSubjectMaxFailures)
	assert.Equal(t, challenge.DefaultMinDigits, cfg.ChallengeMinDigits)
	assert.Empty(t, cfg.RecoveryKeys, "no GUARD_KEY: plain hashes, not a key lost at restart")

	withGuard, err := config.Parse(nil, func(k string) string { return map[string]string{"GUARD_KEY": strings.Repeat("g", 32)}[k] })
	require.NoError(t, err)
	require.Len(t, withGuard.RecoveryKeys, 1)
	assert.Regexp(t, `^g[0-9a-f]{8}$`, withGuard.RecoveryKeys[0].ID)
	assert.NotEqual(t, withGuard.GuardKey, withGuard.RecoveryKeys[0].Secret, "derived, not the guard key itself")
	other, err := config.Parse(nil, func(k string) string { return map[string]string{"GUARD_KEY": strings.Repeat("h", 32)}[k] })
	require.NoError(t, err)
	assert.NotEqual(t, withGuard.RecoveryKeys[0].ID, other.RecoveryKeys[0].ID, "another guard key, another ID")

	explicit, err := config.Parse(nil, func(k string) string {
		return map[string]string{"GUARD_KEY": strings.Repeat("g", 32), "RECOVERY_KEYS": "r1:" + base64.StdEncoding.EncodeToString(make([]byte, 32))}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, "r1", explicit.RecoveryKeys[0].ID, "RECOVERY_KEYS wins")
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
			got, from := config.DefaultCapacity(tt.limit)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantFrom, from)
		})
	}
	t.Run("GOMEMLIMIT", func(t *testing.T) {
		old := debug.SetMemoryLimit(-1)
		t.Cleanup(func() { debug.SetMemoryLimit(old) })
		debug.SetMemoryLimit(300 << 20)
		assert.Equal(t, uint64(300<<20), config.MemoryLimit(func(k string) string { return map[string]string{"GOMEMLIMIT": "300MiB"}[k] }))
	})
}

// TestConfigurationLineMasksSecrets: the start-up line gives every setting
// and of each secret only whether it is set.
func TestConfigurationLineMasksSecrets(t *testing.T) {
	cfg, err := config.Parse([]string{"-addr", "127.0.0.1:9"}, func(k string) string {
		return map[string]string{
			"GUARD_KEY": "guard-key-secret-0123456789", "API_KEYS": "login verify api-secret-1-of-thirty-two-bytes-long,api-secret-2-of-thirty-two-bytes-long",
			"REDIS_URL": "redis://:redis-secret@10.0.0.1:6379/0", "CHALLENGE_KEYS": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
			"SEAL_KEYS": "2026-11:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)) + ",2025-05:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)),
		}[k]
	})
	require.NoError(t, err)
	var out bytes.Buffer
	telemetry.NewLogger(&out, slog.LevelInfo).Info("configuration", slog.Any("", cfg))
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
	wantCapacity, _ := config.DefaultCapacity(config.MemoryLimit(func(string) string { return "" }))
	assert.EqualValues(t, wantCapacity, got["guard_capacity"])
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
			got := config.RedactURL(tt.give)
			assert.NotContains(t, got, tt.secret)
			assert.NotEmpty(t, got)
		})
	}
}

// TestConfigurationDocIsFresh: docs/configuration.md holds the table of
// every flag as the code declares it (go generate ./... writes it).
func TestConfigurationDocIsFresh(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	require.NoError(t, err)
	assert.Contains(t, string(doc), config.Markdown(), "docs/configuration.md is stale: run go generate ./...")
}
