package guard

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCapacity bounds a Memory store's entries. At about 100 bytes an
// entry it holds 100,000 secrets' state in some 10 MB.
const DefaultCapacity = 100_000

// Memory is a Store inside the process: for a single instance. It holds at
// most Capacity entries; expired entries are reclaimed as it goes, and when
// it is full the entry nearest its expiry among a few sampled is evicted, so
// a flood of distinct secrets costs the oldest records, not the memory.
type Memory struct {
	now      func() time.Time
	capacity int

	mu      sync.Mutex
	entries map[memKey]memEntry
}

// memKey and memEntry hold no pointers, so the garbage collector never
// scans the map, however many secrets it holds: with string keys, marking
// a full store cost more than the verifications it guarded.
type memKey [64]byte

type memEntry struct {
	value   uint64 // a used step, or a failure count
	expires int64  // unix nanoseconds
}

// toMemKey fits key into a memKey: short keys as they are, with their
// length in the last byte; longer ones as their SHA-256.
func toMemKey(key string) memKey {
	var k memKey
	if len(key) < len(k) {
		copy(k[:], key)
		k[len(k)-1] = byte(len(key))
		return k
	}
	sum := sha256.Sum256([]byte(key))
	copy(k[:], sum[:])
	k[len(k)-1] = 0xff
	return k
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store on the clock now holding at most
// capacity entries (DefaultCapacity when capacity < 1).
func NewMemory(now func() time.Time, capacity int) *Memory {
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	return &Memory{now: now, capacity: capacity, entries: make(map[memKey]memEntry)}
}

// Len returns the number of entries held, expired or not.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// get returns key's live entry; the caller holds mu.
func (m *Memory) get(key memKey, now int64) (memEntry, bool) {
	e, ok := m.entries[key]
	if ok && now >= e.expires {
		delete(m.entries, key)
		return memEntry{}, false
	}
	return e, ok
}

// put stores e under key, making room first; the caller holds mu.
func (m *Memory) put(key memKey, e memEntry, now int64) {
	if _, ok := m.entries[key]; !ok {
		m.reclaim(now)
	}
	m.entries[key] = e
}

// reclaim looks at a few entries (map order is random) and deletes the
// expired ones; when the store is still full it evicts the sampled entry
// nearest its expiry. The caller holds mu.
func (m *Memory) reclaim(now int64) {
	const samples = 5
	var (
		victim  memKey
		soonest int64
		seen    int
	)
	for k, e := range m.entries {
		if now >= e.expires {
			delete(m.entries, k)
		} else if seen == 0 || e.expires < soonest {
			victim, soonest = k, e.expires
		}
		if seen++; seen == samples {
			break
		}
	}
	if len(m.entries) >= m.capacity && soonest != 0 {
		delete(m.entries, victim)
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
	m.put(k, e, now)
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
	m.put(key, memEntry{value: c.Step, expires: now + int64(c.TTL)}, now)
	return Verdict{Claimed: true}, nil
}

// Ping implements Store; memory is always there.
func (m *Memory) Ping(context.Context) error { return nil }
