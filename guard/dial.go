package guard

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Dial returns a Store in the Redis url names, parsed as go-redis parses
// it for mode (single, cluster or sentinel: ParseURL, ParseClusterURL or
// ParseFailoverURL, which read TLS from rediss://, passwords and
// timeouts), and the addresses it starts from, for the log. Timeouts the
// URL leaves unset are short: a dead Redis should cost a 503 now, not a
// hung login. Close releases the client.
func Dial(mode, url, prefix string) (*Redis, []string, error) {
	// Errors name the mode, never the URL: it may hold a password.
	var (
		client redis.UniversalClient
		addrs  []string
	)
	switch mode {
	case "cluster":
		opts, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, nil, errors.New("REDIS_URL does not parse as a cluster URL (redis://host:port?addr=host2:port2&addr=...)")
		}
		fastFail(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries)
		client, addrs = redis.NewClusterClient(opts), opts.Addrs
	case "sentinel":
		opts, err := redis.ParseFailoverURL(url)
		if err != nil || opts.MasterName == "" {
			return nil, nil, errors.New("REDIS_URL does not parse as a Sentinel URL (redis://sentinel:26379?master_name=NAME&addr=sentinel2:26379)")
		}
		fastFail(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries)
		client, addrs = redis.NewFailoverClient(opts), opts.SentinelAddrs
	default:
		opts, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, errors.New("REDIS_URL does not parse as a redis:// or rediss:// URL")
		}
		fastFail(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.MaxRetries)
		client, addrs = redis.NewClient(opts), []string{opts.Addr}
	}
	return NewRedis(client, prefix), addrs, nil
}

// fastFail sets the timeouts and retries a URL left unset.
func fastFail(dial, read, write *time.Duration, retries *int) {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{dial, time.Second}, {read, 500 * time.Millisecond}, {write, 500 * time.Millisecond}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if *retries == 0 {
		*retries = 1
	}
}

// Close releases the Redis client.
func (r *Redis) Close() error { return r.client.Close() }

// Risks lists what in Redis's configuration puts the guard's records at
// risk, in words for an operator's log: every eviction policy but
// noeviction may drop a record before it expires (a used code accepted
// again, a lock lifted), and a Redis without maxmemory grows with a flood
// until its host kills it. They are warnings rather than refusals:
// managed Redis often forbids CONFIG or fixes the policy, and an operator
// who cannot change it should still be able to run, told of the risk.
func (r *Redis) Risks(ctx context.Context) []string {
	policies, err := r.EvictionPolicies(ctx)
	if err != nil {
		return []string{"could not read Redis's maxmemory-policy; set it to noeviction, or a full Redis may drop the guard's records"}
	}
	var risks []string
	for _, p := range policies {
		if p != "noeviction" {
			risks = append(risks, "Redis's maxmemory-policy "+p+" lets it evict the guard's records (a used code accepted again, a lock lifted); set maxmemory-policy noeviction")
			break
		}
	}
	limits, err := r.MaxMemories(ctx)
	if err != nil {
		return risks
	}
	for _, l := range limits {
		if l == "0" {
			return append(risks, "Redis has no maxmemory: a flood of guard records grows it until its host kills it; set maxmemory, under the noeviction policy, so it refuses instead")
		}
	}
	return risks
}

// StoreOptions say which store Open builds.
type StoreOptions struct {
	Off      bool // no store: codes may be reused and guessed without limit
	Capacity int  // of the memory store
	// RedisURL, when set, names the Redis of a fleet, read as RedisMode
	// says (Dial), with every key under RedisPrefix.
	RedisURL, RedisMode, RedisPrefix string
}

// Open builds the store o asks for (nil when the guard is off), saying on
// log which it is and what puts its records at risk. close releases it.
func Open(o StoreOptions, log *slog.Logger) (store Store, close func(), err error) {
	switch {
	case o.Off:
		log.Warn("guard is off: codes can be reused within their window and guessed without limit; callers must send after_step and throttle")
		return nil, func() {}, nil
	case o.RedisURL == "":
		log.Info("guard on", "store", "memory", "capacity", o.Capacity)
		return NewMemory(o.Capacity), func() {}, nil
	}
	r, addrs, err := Dial(o.RedisMode, o.RedisURL, o.RedisPrefix)
	if err != nil {
		return nil, nil, err
	}
	log.Info("guard on", "store", "redis", "redis_mode", o.RedisMode, "redis_addrs", addrs, "prefix", o.RedisPrefix)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, risk := range r.Risks(ctx) {
		log.Warn(risk)
	}
	if err := r.Ping(ctx); errors.Is(err, ErrClusterNode) {
		log.Error("REDIS_URL names a node of a Redis Cluster, which answers most keys elsewhere: set REDIS_MODE=cluster; /readyz answers 503 until then")
	}
	return r, func() { r.Close() }, nil
}
