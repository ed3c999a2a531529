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

	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
	"github.com/acme/totp/internal/redistest"
)

// clock is a settable clock.
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

// storeFactory makes an empty Store. Every store judges time by the op's
// Now, so the tests move a clock; Redis's own TTLs only reclaim memory.
type storeFactory func(t *testing.T) guard.Store

func memoryFactory(t *testing.T) guard.Store { return guard.NewMemory(0) }

func redisFactory(t *testing.T) guard.Store {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	return guard.NewRedis(client, "test:")
}

// clusterFactory is a Store on a real three-primary Redis Cluster: a
// script whose keys lay in two slots would fail there with CROSSSLOT.
func clusterFactory(t *testing.T) guard.Store {
	cluster := redistest.StartCluster(t, 3)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
	t.Cleanup(func() { client.Close() })
	return guard.NewRedis(client, "test:")
}

func TestMemoryStore(t *testing.T) { testStore(t, memoryFactory) }
func TestRedisStore(t *testing.T)  { testStore(t, redisFactory) }

func TestRedisClusterStore(t *testing.T) { testStore(t, clusterFactory) }

func TestRedisSentinelStore(t *testing.T) { testStore(t, sentinelFactory) }

// sentinelFactory is a Store on a primary found through a real Sentinel.
func sentinelFactory(t *testing.T) guard.Store {
	sentinel := redistest.StartSentinel(t)
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelMaster, SentinelAddrs: []string{sentinel.Addr}})
	t.Cleanup(func() { client.Close() })
	return guard.NewRedis(client, "test:")
}

// testStore is the contract every Store keeps, the same on each.
func testStore(t *testing.T, newStore storeFactory) {
	ctx := context.Background()
	limit := guard.Limit{Max: 3, Window: time.Minute, MaxLock: 8 * time.Minute}
	t0 := time.Unix(1_700_000_000, 0)
	op := func(tag string, at time.Time, matched bool, step uint64) guard.Op {
		return guard.Op{Now: at, Tag: tag, Records: []guard.Record{{Key: "", Limit: limit}}, Matched: matched,
			Use: guard.Use{Name: "t:SHA1:30:6:", Step: step, TTL: time.Minute}}
	}
	apply := func(t *testing.T, s guard.Store, o guard.Op) guard.Outcome {
		t.Helper()
		out, err := s.Apply(ctx, o)
		require.NoError(t, err)
		return out
	}

	t.Run("a step is claimed once, and earlier steps with it", func(t *testing.T) {
		s := newStore(t)
		tests := []struct {
			name string
			step uint64
			want guard.Verdict
		}{
			{"first use", 100, guard.Accepted},
			{"same step again", 100, guard.Reused},
			{"earlier step", 99, guard.Reused},
			{"later step", 101, guard.Accepted},
			{"the step before that one", 100, guard.Reused},
			{"a counter past 2^53 (Lua's numbers lose it)", 1<<60 + 1, guard.Accepted},
			{"one below it", 1 << 60, guard.Reused},
		}
		for _, tt := range tests {
			assert.Equal(t, tt.want, apply(t, s, op("a", t0, true, tt.step)).Verdict, tt.name)
		}
		assert.Equal(t, guard.Accepted, apply(t, s, op("b", t0, true, 100)).Verdict, "another tag is apart")
		other := op("a", t0, true, 100)
		other.Use.Name = "h:SHA1:30:6:"
		other.Use.Slot = 1
		assert.Equal(t, guard.Accepted, apply(t, s, other).Verdict, "another slot is apart")
	})

	t.Run("a used step is forgotten after its TTL", func(t *testing.T) {
		s := newStore(t)
		require.Equal(t, guard.Accepted, apply(t, s, op("a", t0, true, 7)).Verdict)
		assert.Equal(t, guard.Reused, apply(t, s, op("a", t0.Add(59*time.Second), true, 7)).Verdict)
		assert.Equal(t, guard.Accepted, apply(t, s, op("a", t0.Add(61*time.Second), true, 7)).Verdict)
	})

	t.Run("failures lock; each lock within a day doubles, up to the cap", func(t *testing.T) {
		s := newStore(t)
		at := t0
		for _, wantLock := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 8 * time.Minute} {
			for i := range 3 {
				out := apply(t, s, op("a", at, false, 0))
				require.Equal(t, guard.Failed, out.Verdict)
				if i < 2 {
					assert.Zero(t, out.Locks)
				}
			}
			out := apply(t, s, op("a", at, true, 1))
			require.Equal(t, guard.Locked, out.Verdict, "a right code while locked")
			assert.Equal(t, wantLock, out.RetryAfter)
			out = apply(t, s, op("a", at.Add(wantLock-time.Second), false, 0))
			assert.Equal(t, guard.Locked, out.Verdict, "a wrong code while locked is not counted")
			at = at.Add(wantLock)
		}
		// A right code after the lock passes ends the escalation.
		require.Equal(t, guard.Accepted, apply(t, s, op("a", at, true, 1)).Verdict)
		for range 3 {
			apply(t, s, op("a", at, false, 0))
		}
		assert.Equal(t, time.Minute, apply(t, s, op("a", at, true, 2)).RetryAfter)
	})

	t.Run("the escalation is forgotten a day after the last lock", func(t *testing.T) {
		s := newStore(t)
		for range 3 {
			apply(t, s, op("a", t0, false, 0))
		}
		at := t0.Add(time.Minute + 24*time.Hour)
		for range 3 {
			apply(t, s, op("a", at, false, 0))
		}
		assert.Equal(t, time.Minute, apply(t, s, op("a", at, true, 1)).RetryAfter)
	})

	t.Run("failures outside the window do not add up", func(t *testing.T) {
		s := newStore(t)
		for i := range 4 {
			out := apply(t, s, op("a", t0.Add(time.Duration(i)*61*time.Second), false, 0))
			assert.Equal(t, guard.Failed, out.Verdict)
			assert.Zero(t, out.Locks)
		}
	})

	t.Run("two records: either's lock refuses; a failure counts on both", func(t *testing.T) {
		s := newStore(t)
		two := func(client string, matched bool, step uint64) guard.Op {
			o := op("a", t0, matched, step)
			o.Records = []guard.Record{{Key: "", Limit: guard.Limit{Max: 5, Window: time.Minute}}, {Key: "c:" + client, Limit: guard.Limit{Max: 2, Window: time.Minute}}}
			return o
		}
		apply(t, s, two("x", false, 0))
		out := apply(t, s, two("x", false, 0))
		assert.Equal(t, 1, out.Locks, "client x locked")
		assert.Equal(t, 1, out.LockedRecord)
		assert.Equal(t, guard.Locked, apply(t, s, two("x", true, 1)).Verdict)
		assert.Equal(t, guard.Accepted, apply(t, s, two("y", true, 1)).Verdict, "client y is not")
		apply(t, s, two("y", false, 0))
		apply(t, s, two("z", false, 0))
		out = apply(t, s, two("w", false, 0))
		assert.Equal(t, 0, out.LockedRecord, "the fifth failure over all clients locks the first record")
		out = apply(t, s, two("v", true, 2))
		assert.Equal(t, guard.Locked, out.Verdict)
		assert.Equal(t, 0, out.LockedRecord)
	})

	t.Run("an owner past its share creates no record, right or wrong; others do", func(t *testing.T) {
		s := guard.OwnerShare(newStore(t), 2)
		owned := func(owner, tag string, matched bool) guard.Op {
			o := op(tag, t0, matched, 1)
			o.Owner = owner
			return o
		}
		require.Equal(t, guard.Failed, apply(t, s, owned("a", "s1", false)).Verdict)
		require.Equal(t, guard.Accepted, apply(t, s, owned("a", "s2", true)).Verdict)
		for _, matched := range []bool{false, true} {
			out := apply(t, s, owned("a", "s3", matched))
			assert.Equal(t, guard.OverShare, out.Verdict)
			assert.Positive(t, out.RetryAfter)
		}
		assert.Equal(t, guard.Failed, apply(t, s, owned("a", "s1", false)).Verdict, "its existing records still count")
		assert.Equal(t, guard.Accepted, apply(t, s, owned("b", "s3", true)).Verdict, "another owner is not affected")
		// The owner's records expire: it may create again.
		later := owned("a", "s4", true)
		later.Now = t0.Add(2 * time.Minute)
		assert.Equal(t, guard.Accepted, apply(t, s, later).Verdict)
	})

	t.Run("concurrent claims of one step: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				out, err := s.Apply(ctx, op("a", t0, true, 5))
				assert.NoError(t, err)
				if out.Verdict == guard.Accepted {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})

	t.Run("concurrent failures never exceed the limit before the lock", func(t *testing.T) {
		s := newStore(t)
		var answered atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				out, err := s.Apply(ctx, op("a", t0, false, 0))
				assert.NoError(t, err)
				if out.Verdict == guard.Failed {
					answered.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(3), answered.Load(), "three counted, the rest refused by the lock")
	})

	t.Run("an unrecorded lock leaves the store as it was", func(t *testing.T) {
		s := newStore(t)
		for range 3 {
			apply(t, s, op("a", t0, false, 0))
		}
		apply(t, s, op("a", t0.Add(30*time.Second), false, 0))
		assert.Equal(t, 30*time.Second, apply(t, s, op("a", t0.Add(30*time.Second), true, 1)).RetryAfter)
	})
	_ = fmt.Sprint
	_ = errors.New
	_ = runtime.GOMAXPROCS
}

// failOp is a wrong code for tag; usedOp a right one at step.
func failOp(tag string, at time.Time) guard.Op {
	return guard.Op{Now: at, Tag: tag, Records: []guard.Record{{Limit: guard.Limit{Max: 3, Window: time.Hour}}}}
}

func usedOp(tag string, at time.Time, step uint64) guard.Op {
	o := failOp(tag, at)
	o.Matched, o.Use = true, guard.Use{Name: "t", Step: step, TTL: time.Hour}
	return o
}

// TestMemoryFullStoreAnswersAlike: a full store never drops a live record,
// and answers a right code and a wrong one alike wherever a record would
// be needed; a secret that has a record keeps counting, so a right code
// is never accepted where a wrong one would go uncounted.
func TestMemoryFullStoreAnswersAlike(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := guard.NewMemory(1000)
	out, err := m.Apply(ctx, usedOp("victim", c.Now(), 7))
	require.NoError(t, err)
	require.Equal(t, guard.Accepted, out.Verdict)
	for range 3 {
		_, err := m.Apply(ctx, failOp("locked", c.Now()))
		require.NoError(t, err)
	}

	var refused int
	for i := range 10_000 {
		c.Add(10 * time.Millisecond) // the flood takes 100 s, well within the records' hour
		_, err := m.Apply(ctx, failOp(fmt.Sprintf("flood%d", i), c.Now()))
		if errors.Is(err, guard.ErrFull) {
			refused++
			assert.Greater(t, fault.From(err).RetryAfter, time.Duration(0))
			continue
		}
		require.NoError(t, err)
	}
	assert.Equal(t, 1000-2, 10_000-refused, "the store filled up to its capacity, then refused")
	assert.Equal(t, 1000, m.Len())
	assert.Equal(t, uint64(refused), m.Refused())

	for _, o := range []guard.Op{usedOp("new", c.Now(), 1), failOp("new", c.Now())} {
		_, err := m.Apply(ctx, o)
		assert.ErrorIs(t, err, guard.ErrFull, "a secret without a record: right and wrong alike")
	}
	out, err = m.Apply(ctx, usedOp("victim", c.Now(), 7))
	require.NoError(t, err)
	assert.Equal(t, guard.Reused, out.Verdict, "the used step is still used")
	out, err = m.Apply(ctx, failOp("victim", c.Now()))
	require.NoError(t, err)
	assert.Equal(t, guard.Failed, out.Verdict, "a wrong code for a secret with a record is counted, full or not")
	out, err = m.Apply(ctx, usedOp("locked", c.Now(), 1))
	require.NoError(t, err)
	assert.Equal(t, guard.Locked, out.Verdict, "the lock still holds")

	// Once the records expire, room is reclaimed: the store fills again.
	c.Add(2 * time.Hour)
	for i := range 1000 {
		_, err := m.Apply(ctx, failOp(fmt.Sprintf("after%d", i), c.Now()))
		require.NoError(t, err, "record %d", i)
	}
	assert.LessOrEqual(t, m.Len(), 1000)
}

// TestMemoryStaysBoundedUnderChurn: records that come and go for ever do
// not grow the store's memory, though a Go map keeps the room of deleted
// entries: the store remakes its shards' maps.
func TestMemoryStaysBoundedUnderChurn(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	m := guard.NewMemory(10_000)
	churn := func(n int) {
		for i := range n {
			c.Add(time.Millisecond)
			o := failOp(fmt.Sprintf("%d", i), c.Now())
			o.Records[0].Limit.Window = time.Second
			_, err := m.Apply(ctx, o)
			require.NoError(t, err)
		}
	}
	churn(100_000) // the maps reach their working size
	before := heapInUse()
	churn(1_000_000)
	after := heapInUse()
	t.Logf("heap in use: %.1f MiB after 100,000 records, %.1f MiB after 1,000,000 more", float64(before)/(1<<20), float64(after)/(1<<20))
	assert.Less(t, after, before+8<<20, "1 million records through a store of 10,000 grew the heap by %d bytes", after-before)
	assert.LessOrEqual(t, m.Len(), 10_000)
}

// TestMemoryRecordSize measures what a live record costs, the figure
// guard.RecordBytes gives for sizing GUARD_CAPACITY.
func TestMemoryRecordSize(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	// A Go map doubles as it grows: just before a doubling a record costs
	// least, just after it most.
	for _, n := range []int{450_000, 600_000} {
		before := heapInUse()
		m := guard.NewMemory(n)
		for i := range n {
			_, err := m.Apply(ctx, usedOp(fmt.Sprintf("%043d", i), now, 1))
			require.NoError(t, err)
		}
		perRecord := float64(heapInUse()-before) / float64(n)
		t.Logf("%.0f bytes a record (%d records)", perRecord, m.Len())
		assert.Less(t, perRecord, float64(guard.RecordBytes))
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
	now := time.Unix(1_700_000_000, 0)
	require.NoError(t, s.Ping(ctx))

	srv.Stop()
	assert.Error(t, s.Ping(ctx))
	_, err := s.Apply(ctx, usedOp("a", now, 1))
	assert.Error(t, err)

	srv.Restart(t)
	assert.NoError(t, s.Ping(ctx), "recovers when Redis returns")
	out, err := s.Apply(ctx, usedOp("a", now, 1))
	require.NoError(t, err)
	assert.Equal(t, guard.Accepted, out.Verdict)
}

// TestRedisAtMaxMemoryIsFull: a Redis at maxmemory under noeviction
// refuses every write, right codes and wrong alike, as a full store.
func TestRedisAtMaxMemoryIsFull(t *testing.T) {
	srv := redistest.StartWith(t, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	s := guard.NewRedis(client, "test:")
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	i := 0
	for ; i < 200_000; i++ {
		if _, err := s.Apply(ctx, failOp(fmt.Sprintf("f%d", i), now)); errors.Is(err, guard.ErrFull) {
			break
		}
	}
	require.Less(t, i, 200_000, "the store never filled")
	_, err := s.Apply(ctx, usedOp("f0", now, 1))
	assert.ErrorIs(t, err, guard.ErrFull, "a right code for a secret with a record: refused as well")
}

// TestRedisClusterNodeInSingleMode: a single-server client pointed at a
// cluster node is not ready, and says what to set.
func TestRedisClusterNodeInSingleMode(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	client := redis.NewClient(&redis.Options{Addr: cluster.Nodes[0].Addr})
	defer client.Close()
	assert.ErrorIs(t, guard.NewRedis(client, "test:").Ping(context.Background()), guard.ErrClusterNode)
}
