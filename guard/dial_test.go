package guard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/redistest"
)

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
			store, _, err := guard.Dial("single", srv.URL(), "totp:")
			require.NoError(t, err)
			defer store.Close()
			risks := strings.Join(store.Risks(context.Background()), "\n")
			assert.Equal(t, tt.wantWarn, strings.Contains(risks, "maxmemory-policy"), risks)
			if tt.wantWarn {
				assert.Contains(t, risks, tt.policy)
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
			store, addrs, err := guard.Dial(tt.mode, tt.url, "totp:")
			if tt.wantErr {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "s3cret")
				return
			}
			require.NoError(t, err)
			defer store.Close()
			assert.Equal(t, tt.wantAddrs, addrs)
		})
	}
}
