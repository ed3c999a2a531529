package guard

import (
	"context"
	"sync"
	"time"
)

// DefaultCapacity bounds a Memory store's entries. At about 150 bytes an
// entry it holds 100,000 secrets' state in some 15 MB.
const DefaultCapacity = 100_000

// Memory is a Store inside the process: for a single instance. It holds at
// most Capacity entries; expired entries are reclaimed as it goes, and when
// it is full the entry nearest its expiry among a few sampled is evicted, so
// a flood of distinct secrets costs the oldest records, not the memory.
type Memory struct {
	now      func() time.Time
	capacity int

	mu      sync.Mutex
	entries map[string]memEntry
}

type memEntry struct {
	value   uint64 // a used step, or a failure count
	expires time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store on the clock now holding at most
// capacity entries (DefaultCapacity when capacity < 1).
func NewMemory(now func() time.Time, capacity int) *Memory {
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	return &Memory{now: now, capacity: capacity, entries: make(map[string]memEntry)}
}

// Len returns the number of entries held, expired or not.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// get returns key's live entry; the caller holds mu.
func (m *Memory) get(key string, now time.Time) (memEntry, bool) {
	e, ok := m.entries[key]
	if ok && !now.Before(e.expires) {
		delete(m.entries, key)
		return memEntry{}, false
	}
	return e, ok
}

// put stores e under key, making room first; the caller holds mu.
func (m *Memory) put(key string, e memEntry, now time.Time) {
	if _, ok := m.entries[key]; !ok {
		m.reclaim(now)
	}
	m.entries[key] = e
}

// reclaim looks at a few entries (map order is random) and deletes the
// expired ones; when the store is still full it evicts the sampled entry
// nearest its expiry. The caller holds mu.
func (m *Memory) reclaim(now time.Time) {
	const samples = 5
	var (
		victim  string
		soonest time.Time
		seen    int
	)
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		} else if victim == "" || e.expires.Before(soonest) {
			victim, soonest = k, e.expires
		}
		if seen++; seen == samples {
			break
		}
	}
	if len(m.entries) >= m.capacity && victim != "" {
		delete(m.entries, victim)
	}
}

// Fail implements Store.
func (m *Memory) Fail(_ context.Context, key string, window time.Duration) (int, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e, ok := m.get(key, now)
	if !ok {
		e = memEntry{expires: now.Add(window)}
	}
	e.value++
	m.put(key, e, now)
	return int(e.value), e.expires.Sub(now), nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, c Claim) (Verdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if f, ok := m.get(c.FailKey, now); ok && f.value >= uint64(c.Limit) {
		return Verdict{Locked: f.expires.Sub(now)}, nil
	}
	if used, ok := m.get(c.Key, now); ok && used.value >= c.Step {
		return Verdict{}, nil
	}
	m.put(c.Key, memEntry{value: c.Step, expires: now.Add(c.TTL)}, now)
	return Verdict{Claimed: true}, nil
}

// Ping implements Store; memory is always there.
func (m *Memory) Ping(context.Context) error { return nil }
