package guard_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/redistest"
)

// clock is a settable clock for the Memory store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// storeFactory makes an empty Store and a way to move its time forward.
type storeFactory func(t *testing.T) (guard.Store, func(time.Duration))

func memoryFactory(t *testing.T) (guard.Store, func(time.Duration)) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	return guard.NewMemory(c.Now, 0), c.Add
}

func redisFactory(t *testing.T) (guard.Store, func(time.Duration)) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	const prefix = "test:"
	return guard.NewRedis(client, prefix), func(d time.Duration) { ageKeys(t, client, prefix, d) }
}

// clusterFactory is a Store on a real three-primary Redis Cluster: a
// script whose keys lay in two slots would fail there with CROSSSLOT.
func clusterFactory(t *testing.T) (guard.Store, func(time.Duration)) {
	cluster := redistest.StartCluster(t, 3)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
	t.Cleanup(func() { client.Close() })
	const prefix = "test:"
	return guard.NewRedis(client, prefix), func(d time.Duration) {
		require.NoError(t, client.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
			ageKeys(t, c, prefix, d)
			return nil
		}))
	}
}

// ageKeys moves time forward for Redis: every key's TTL shrinks by d, and
// keys whose TTL runs out are deleted, as Redis itself would.
func ageKeys(t *testing.T, client *redis.Client, prefix string, d time.Duration) {
	t.Helper()
	const script = `
for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do
  local ttl = redis.call('PTTL', k)
  if ttl > 0 then
    if ttl - tonumber(ARGV[2]) <= 0 then redis.call('DEL', k) else redis.call('PEXPIRE', k, ttl - tonumber(ARGV[2])) end
  end
end
return 0`
	require.NoError(t, client.Eval(context.Background(), script, nil, prefix, d.Milliseconds()).Err())
}

func TestMemoryStore(t *testing.T) { testStore(t, memoryFactory) }
func TestRedisStore(t *testing.T)  { testStore(t, redisFactory) }

func TestRedisClusterStore(t *testing.T) { testStore(t, clusterFactory) }

func TestRedisSentinelStore(t *testing.T) { testStore(t, sentinelFactory) }

// sentinelFactory is a Store on a primary found through a real Sentinel.
func sentinelFactory(t *testing.T) (guard.Store, func(time.Duration)) {
	sentinel := redistest.StartSentinel(t)
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelMaster, SentinelAddrs: []string{sentinel.Addr}})
	t.Cleanup(func() { client.Close() })
	const prefix = "test:"
	return guard.NewRedis(client, prefix), func(d time.Duration) { ageKeys(t, client, prefix, d) }
}

// testStore is the contract every Store keeps.
func testStore(t *testing.T, newStore storeFactory) {
	ctx := context.Background()
	claim := func(key string, step uint64) guard.Claim {
		// The two keys share a hash tag, as guard.Record names them.
		return guard.Claim{Key: "used:{" + key + "}", Step: step, TTL: time.Minute, FailKey: "fail:{" + key + "}", Limit: 3}
	}

	t.Run("a step is claimed once, and earlier steps with it", func(t *testing.T) {
		s, _ := newStore(t)
		tests := []struct {
			name string
			step uint64
			want bool
		}{
			{"first use", 100, true},
			{"same step again", 100, false},
			{"earlier step", 99, false},
			{"later step", 101, true},
			{"the step before that one", 100, false},
		}
		for _, tt := range tests {
			v, err := s.Claim(ctx, claim("a", tt.step))
			require.NoError(t, err)
			assert.Equal(t, guard.Verdict{Claimed: tt.want}, v, tt.name)
		}
		v, err := s.Claim(ctx, claim("other", 100))
		require.NoError(t, err)
		assert.True(t, v.Claimed, "another key is independent")
	})

	t.Run("a used step expires with its TTL", func(t *testing.T) {
		s, advance := newStore(t)
		v, _ := s.Claim(ctx, claim("a", 7))
		require.True(t, v.Claimed)
		advance(59 * time.Second)
		v, _ = s.Claim(ctx, claim("a", 7))
		assert.False(t, v.Claimed, "still inside its TTL")
		advance(2 * time.Second)
		v, err := s.Claim(ctx, claim("a", 7))
		require.NoError(t, err)
		assert.True(t, v.Claimed, "after its TTL")
	})

	t.Run("failures count inside one window", func(t *testing.T) {
		s, advance := newStore(t)
		for want := 1; want <= 4; want++ {
			n, left, err := s.Fail(ctx, "fail:{a}", time.Minute)
			require.NoError(t, err)
			assert.Equal(t, want, n)
			assert.InDelta(t, time.Minute-time.Duration(want-1)*10*time.Second, left, float64(time.Second))
			advance(10 * time.Second)
		}
		advance(21 * time.Second)
		n, left, err := s.Fail(ctx, "fail:{a}", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "a new window after the old one passed")
		assert.InDelta(t, time.Minute, left, float64(time.Second))
	})

	t.Run("a claim is refused while failures reach the limit", func(t *testing.T) {
		s, advance := newStore(t)
		for range 3 {
			_, _, err := s.Fail(ctx, "fail:{a}", time.Minute)
			require.NoError(t, err)
		}
		advance(20 * time.Second)
		v, err := s.Claim(ctx, claim("a", 5))
		require.NoError(t, err)
		assert.False(t, v.Claimed)
		assert.InDelta(t, 40*time.Second, v.Locked, float64(time.Second))

		v, err = s.Claim(ctx, claim("b", 5))
		require.NoError(t, err)
		assert.True(t, v.Claimed, "another secret is not locked")

		advance(41 * time.Second)
		v, err = s.Claim(ctx, claim("a", 5))
		require.NoError(t, err)
		assert.Equal(t, guard.Verdict{Claimed: true}, v, "the lock ends with its window")
	})

	t.Run("below the limit a claim goes through", func(t *testing.T) {
		s, _ := newStore(t)
		for range 2 {
			_, _, _ = s.Fail(ctx, "fail:{a}", time.Minute)
		}
		v, err := s.Claim(ctx, claim("a", 5))
		require.NoError(t, err)
		assert.True(t, v.Claimed)
	})

	t.Run("concurrent claims of one step: exactly one wins", func(t *testing.T) {
		s, _ := newStore(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				v, err := s.Claim(ctx, claim("race", 42))
				assert.NoError(t, err)
				if v.Claimed {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})

	t.Run("concurrent failures are all counted", func(t *testing.T) {
		s, _ := newStore(t)
		seen := make([]atomic.Bool, 51)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				n, _, err := s.Fail(ctx, "fail:{race}", time.Minute)
				assert.NoError(t, err)
				if assert.True(t, n >= 1 && n <= 50, n) {
					assert.False(t, seen[n].Swap(true), "count %d twice", n)
				}
			})
		}
		wg.Wait()
	})

	t.Run("ping", func(t *testing.T) {
		s, _ := newStore(t)
		assert.NoError(t, s.Ping(ctx))
	})
}

// TestMemoryNeverDropsALiveRecord: a flood of new keys against a full
// store is refused (fail closed); the used step and the lock that were
// there before it stay, and existing records keep counting.
func TestMemoryNeverDropsALiveRecord(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := guard.NewMemory(c.Now, 1000)
	used := guard.Claim{Key: "used:victim", Step: 7, TTL: time.Hour, FailKey: "fail:victim", Limit: 3}
	v, err := m.Claim(ctx, used)
	require.NoError(t, err)
	require.True(t, v.Claimed)
	for range 3 {
		_, _, err := m.Fail(ctx, "fail:locked", time.Hour)
		require.NoError(t, err)
	}

	var refused int
	for i := range 10_000 {
		c.Add(10 * time.Millisecond) // the flood takes 100 s, well within the records' hour
		_, _, err := m.Fail(ctx, fmt.Sprintf("fail:flood%d", i), time.Hour)
		var full *guard.FullError
		if errors.As(err, &full) {
			refused++
			assert.Greater(t, full.RetryAfter, time.Duration(0))
			continue
		}
		require.NoError(t, err)
	}
	assert.Equal(t, 1000-2, 10_000-refused, "the store filled up to its capacity, then refused")
	assert.Equal(t, 1000, m.Len())
	assert.Equal(t, uint64(refused), m.Refused())

	v, err = m.Claim(ctx, used)
	require.NoError(t, err)
	assert.False(t, v.Claimed, "the used step is still used")
	v, err = m.Claim(ctx, guard.Claim{Key: "used:locked", Step: 1, TTL: time.Hour, FailKey: "fail:locked", Limit: 3})
	require.NoError(t, err)
	assert.Greater(t, v.Locked, time.Duration(0), "the lock still holds")
	n, _, err := m.Fail(ctx, "fail:locked", time.Hour)
	require.NoError(t, err, "an existing record keeps counting in a full store")
	assert.Equal(t, 4, n)

	// Once the records expire, room is reclaimed: the store fills again.
	c.Add(2 * time.Hour)
	for i := range 1000 {
		_, _, err := m.Fail(ctx, fmt.Sprintf("fail:after%d", i), time.Hour)
		require.NoError(t, err, "record %d", i)
	}
	assert.Equal(t, 1000, m.Len())
}

// TestMemoryStaysBoundedUnderChurn: records that come and go for ever do
// not grow the store's memory, though a Go map keeps the room of deleted
// entries: the store remakes its map.
func TestMemoryStaysBoundedUnderChurn(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := guard.NewMemory(c.Now, 10_000)
	churn := func(n int) {
		for i := range n {
			c.Add(time.Millisecond)
			_, _, err := m.Fail(ctx, fmt.Sprintf("fail:%d", i), time.Second)
			require.NoError(t, err)
		}
	}
	churn(100_000) // the map reaches its working size
	before := heapInUse()
	churn(2_000_000)
	after := heapInUse()
	t.Logf("heap in use: %.1f MiB after 100,000 records, %.1f MiB after 2,000,000 more", float64(before)/(1<<20), float64(after)/(1<<20))
	assert.Less(t, after, before+8<<20, "2 million records through a store of 10,000 grew the heap by %d bytes", after-before)
	assert.LessOrEqual(t, m.Len(), 10_000)
}

// TestMemoryRecordSize measures what a live record costs, the figure the
// README gives for sizing GUARD_CAPACITY.
func TestMemoryRecordSize(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	// A Go map doubles as it grows: just before a doubling a record costs
	// least, just after it most.
	for _, n := range []int{450_000, 500_000} {
		before := heapInUse()
		m := guard.NewMemory(c.Now, n)
		for i := range n {
			_, _, err := m.Fail(ctx, fmt.Sprintf("fail:%043d", i), time.Hour)
			require.NoError(t, err)
		}
		perRecord := float64(heapInUse()-before) / float64(n)
		t.Logf("%.0f bytes a record (%d records)", perRecord, m.Len())
		assert.Less(t, perRecord, 90.0)
		runtime.KeepAlive(m)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func TestRedisStoreUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	s := guard.NewRedis(client, "test:")
	ctx := context.Background()
	require.NoError(t, s.Ping(ctx))

	srv.Stop()
	assert.Error(t, s.Ping(ctx))
	_, err := s.Claim(ctx, guard.Claim{Key: "used:a", Step: 1, TTL: time.Minute, FailKey: "fail:a", Limit: 5})
	assert.Error(t, err)
	_, _, err = s.Fail(ctx, "fail:{a}", time.Minute)
	assert.Error(t, err)

	srv.Restart(t)
	assert.NoError(t, s.Ping(ctx), "recovers when Redis returns")
	v, err := s.Claim(ctx, guard.Claim{Key: "used:a", Step: 1, TTL: time.Minute, FailKey: "fail:a", Limit: 5})
	require.NoError(t, err)
	assert.True(t, v.Claimed)
}
