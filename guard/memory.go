package guard

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCapacity bounds a Memory store's live records. A flood of wrong
// codes for distinct secrets makes one failure record per request, kept for
// the failure window: 12 million records hold one instance's full load
// (about 40,000 verifications a second on one core here) for the default
// 5-minute window. A record is 32 bytes in a map that doubles as it grows,
// 59 to 84 bytes in all (TestMemoryRecordSize): 0.7 to 1 GiB when full,
// taken only as records arrive. Lower GUARD_CAPACITY to fit a smaller
// container: past it the store refuses new records, it never forgets.
const DefaultCapacity = 12_000_000

// sweepEvery spaces the full sweeps of a full store, so a flood against a
// full store costs a refusal each, not a scan each.
const sweepEvery = time.Second

// Memory is a Store inside the process: for a single instance. It never
// drops a live record to make room: it holds at most Capacity records, and
// when it is full a use or failure that needs a new record is refused with
// a *FullError (fail closed) until expired records can be reclaimed;
// existing records keep working.
type Memory struct {
	now      func() time.Time
	capacity int

	mu        sync.Mutex
	entries   map[memKey]memEntry
	deleted   int   // deletions since entries was made: a Go map keeps their room
	nextSweep int64 // unix nanoseconds; a full store sweeps again no sooner

	refused atomic.Uint64
}

// memKey and memEntry hold no pointers, so the garbage collector never
// scans the map, however many records it holds.
type memKey [16]byte

type memEntry struct {
	value   uint64 // a used step, or a failure count
	expires int64  // unix nanoseconds
}

// toMemKey names key by the first 128 bits of its SHA-256: a fixed 16
// bytes whatever the key. Two keys would share a record only if their
// hashes agreed on all 128 bits: among 12 million records, a chance of
// about 1 in 10^24.
func toMemKey(key string) memKey {
	sum := sha256.Sum256([]byte(key))
	return memKey(sum[:16])
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store on the clock now holding at most
// capacity live records (DefaultCapacity when capacity < 1).
func NewMemory(now func() time.Time, capacity int) *Memory {
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	return &Memory{now: now, capacity: capacity, entries: make(map[memKey]memEntry)}
}

// Len returns the number of records held, expired or not.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Capacity is the most records the store holds.
func (m *Memory) Capacity() int { return m.capacity }

// Refused counts the records refused because the store was full.
func (m *Memory) Refused() uint64 { return m.refused.Load() }

// get returns key's live entry; the caller holds mu.
func (m *Memory) get(key memKey, now int64) (memEntry, bool) {
	e, ok := m.entries[key]
	if ok && now >= e.expires {
		m.remove(key)
		return memEntry{}, false
	}
	return e, ok
}

// remove deletes key. The caller holds mu.
func (m *Memory) remove(key memKey) {
	delete(m.entries, key)
	m.deleted++
}

// compact remakes the map once as many deletions as the store's capacity
// have left their room behind in it: a Go map never gives back the room
// of deleted entries, so a store that only ever held capacity records
// could otherwise grow without bound. The caller holds mu.
func (m *Memory) compact() {
	if m.deleted < m.capacity {
		return
	}
	fresh := make(map[memKey]memEntry, len(m.entries))
	for k, e := range m.entries {
		fresh[k] = e
	}
	m.entries, m.deleted = fresh, 0
}

// put stores e under key. A new key in a full store first sweeps out every
// expired record (at most once per sweepEvery); if the store is still full
// the record is refused. The caller holds mu.
func (m *Memory) put(key memKey, e memEntry, now int64) error {
	defer m.compact()
	if _, ok := m.entries[key]; !ok {
		m.reclaim(now)
		if len(m.entries) >= m.capacity && now >= m.nextSweep {
			m.sweep(now)
			m.nextSweep = now + int64(sweepEvery)
		}
		if len(m.entries) >= m.capacity {
			m.refused.Add(1)
			return &FullError{RetryAfter: time.Duration(m.nextSweep - now)}
		}
	}
	m.entries[key] = e
	return nil
}

// reclaim looks at a few records (map order is random) and deletes the
// expired ones, so expired records rarely pile up to a full sweep. It never
// deletes a live record. The caller holds mu.
func (m *Memory) reclaim(now int64) {
	const samples = 3
	seen := 0
	for k, e := range m.entries {
		if now >= e.expires {
			m.remove(k)
		}
		if seen++; seen == samples {
			return
		}
	}
}

// sweep deletes every expired record. The caller holds mu.
func (m *Memory) sweep(now int64) {
	for k, e := range m.entries {
		if now >= e.expires {
			m.remove(k)
		}
	}
}

// Fail implements Store.
func (m *Memory) Fail(_ context.Context, key string, window time.Duration) (int, time.Duration, error) {
	k := toMemKey(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixNano()
	e, ok := m.get(k, now)
	if !ok {
		e = memEntry{expires: now + int64(window)}
	}
	e.value++
	if err := m.put(k, e, now); err != nil {
		return 0, 0, err
	}
	return int(e.value), time.Duration(e.expires - now), nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, c Claim) (Verdict, error) {
	key, failKey := toMemKey(c.Key), toMemKey(c.FailKey)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixNano()
	if f, ok := m.get(failKey, now); ok && f.value >= uint64(c.Limit) {
		return Verdict{Locked: time.Duration(f.expires - now)}, nil
	}
	if used, ok := m.get(key, now); ok && used.value >= c.Step {
		return Verdict{}, nil
	}
	if err := m.put(key, memEntry{value: c.Step, expires: now + int64(c.TTL)}, now); err != nil {
		return Verdict{}, err
	}
	return Verdict{Claimed: true}, nil
}

// Ping implements Store; memory is always there.
func (m *Memory) Ping(context.Context) error { return nil }
