package guard

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis shared by a fleet of instances: one server,
// a Sentinel-managed primary or a cluster, whatever client go-redis's
// UniversalClient stands for. Each operation is one Lua script, so it is
// atomic across instances; the keys one script touches share a hash tag
// (Record names them so), so on a cluster every script runs on one slot;
// and every key carries a TTL, so Redis reclaims what expires.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on client whose keys all start with prefix,
// which must hold no brace: a brace would start the keys' hash tag.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// EvictionPolicies returns the maxmemory-policy of every server that holds
// the store's keys: every primary of a cluster, or the one server. Any
// policy but noeviction lets Redis drop a guard key before its TTL, since
// each has one; noeviction makes a full Redis refuse writes, which fails
// closed. Managed services often refuse CONFIG: that is an error here.
func (r *Redis) EvictionPolicies(ctx context.Context) ([]string, error) {
	policy := func(ctx context.Context, c *redis.Client) (string, error) {
		v, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return "", err
		}
		return v["maxmemory-policy"], nil
	}
	if cluster, ok := r.client.(*redis.ClusterClient); ok {
		var (
			mu       sync.Mutex
			policies []string
		)
		err := cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			p, err := policy(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			policies = append(policies, p)
			return err
		})
		return policies, err
	}
	c, ok := r.client.(*redis.Client)
	if !ok {
		return nil, errors.New("unknown kind of Redis client")
	}
	p, err := policy(ctx, c)
	return []string{p}, err
}

// failScript counts a failure; the first one opens the window.
// KEYS[1] counter; ARGV[1] window in ms. Returns {failures, ms left}.
var failScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
`)

// claimScript records a used step unless the secret is locked or the step
// (or a later one) was used. KEYS[1] used step, KEYS[2] failure counter;
// ARGV[1] step, ARGV[2] ttl in ms, ARGV[3] limit.
// Returns {1, 0} claimed, {0, 0} replayed, {0, ms} locked.
var claimScript = redis.NewScript(`
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
if failures >= tonumber(ARGV[3]) then
  local left = redis.call('PTTL', KEYS[2])
  if left < 1 then left = 1 end
  return {0, left}
end
local used = redis.call('GET', KEYS[1])
if used and tonumber(used) >= tonumber(ARGV[1]) then
  return {0, 0}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, 0}
`)

// Fail implements Store.
func (r *Redis) Fail(ctx context.Context, key string, window time.Duration) (int, time.Duration, error) {
	res, err := failScript.Run(ctx, r.client, []string{r.prefix + key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, errors.New("unexpected reply from fail script")
	}
	return int(res[0]), time.Duration(res[1]) * time.Millisecond, nil
}

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, c Claim) (Verdict, error) {
	ttl := max(c.TTL.Milliseconds(), 1)
	res, err := claimScript.Run(ctx, r.client,
		[]string{r.prefix + c.Key, r.prefix + c.FailKey},
		c.Step, ttl, c.Limit).Int64Slice()
	if err != nil {
		return Verdict{}, err
	}
	if len(res) != 2 {
		return Verdict{}, errors.New("unexpected reply from claim script")
	}
	return Verdict{Claimed: res[0] == 1, Locked: time.Duration(res[1]) * time.Millisecond}, nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	return r.client.Ping(ctx).Err()
}
