package guard

import (
	"context"
	"crypto/sha256"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCapacity bounds a Memory store's live records when neither
// GUARD_CAPACITY nor a memory limit says otherwise: about 330 MiB when
// full (RecordBytes each: 190 MiB), taken only as records arrive.
const DefaultCapacity = 1_000_000

// RecordBytes is what one live record of a full Memory store costs at most,
// map overhead included (TestMemoryRecordSize measures it), for sizing
// GUARD_CAPACITY: capacity × RecordBytes is the store's memory when full.
const RecordBytes = 200

// shards splits the store (one byte of a tag's hash picks the shard) so that no sweep or map rebuild holds a lock
// that more than 1/256 of the verifications wait on, and so that
// verifications of different secrets seldom wait on each other.
const shards = 256

// sweepEvery spaces the full sweeps of a shard of a full store, so a flood
// against a full store costs a refusal each, not a scan each.
const sweepEvery = time.Second

// Memory is a Store inside the process: for a single instance. It never
// drops a live record to make room: it holds at most Capacity records, and
// an op that needs a new record in a full store is refused with a
// ErrFull (fail closed) until expired records are reclaimed; existing
// records keep working.
type Memory struct {
	capacity int64
	total    atomic.Int64 // live records and records reserved for ops in flight
	refused  atomic.Uint64
	shards   [shards]memShard
	// nextSweep is when a full store may sweep its shards again (unix ms).
	nextSweep atomic.Int64

	ownersMu sync.RWMutex
	owners   map[string]uint16 // owner → index into held; index 0 is ""
	held     []*ownerHeld      // live records of each owner
}

// ownerHeld counts an owner's live records by the minute they expire in,
// so records leave the count as they expire, without a sweep: a record
// counts until the end of its minute.
type ownerHeld struct {
	mu      sync.Mutex
	minutes map[int64]int64 // expiry minute → records
	live    int64           // records in minutes not yet passed
	passed  int64           // minutes before this one are subtracted from live
}

func newOwnerHeld() *ownerHeld { return &ownerHeld{minutes: map[int64]int64{}} }

func minuteOf(ms int64) int64 { return (ms + 59_999) / 60_000 }

// count is the owner's live records at now, and how long until the first
// of them leaves the count.
func (h *ownerHeld) count(now int64) (int64, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire(now)
	first := int64(0)
	for m := range h.minutes {
		if first == 0 || m < first {
			first = m
		}
	}
	wait := time.Minute
	if first > 0 {
		wait = time.Duration(first*60_000-now) * time.Millisecond
	}
	return h.live, max(wait, time.Second)
}

// expire subtracts the minutes that have passed. The caller holds mu.
func (h *ownerHeld) expire(now int64) {
	current := now / 60_000
	if h.passed == 0 {
		h.passed = current
	}
	if current-h.passed > int64(len(h.minutes)) {
		// Long idle: walking every minute would cost more than the map.
		for m, n := range h.minutes {
			if m <= current {
				h.live -= n
				delete(h.minutes, m)
			}
		}
		h.passed = current
		return
	}
	for ; h.passed <= current; h.passed++ {
		h.live -= h.minutes[h.passed]
		delete(h.minutes, h.passed)
	}
}

// move counts a record that expired at from (0: a new record) as expiring
// at to (0: deleted while live).
func (h *ownerHeld) move(from, to, now int64) {
	if minuteOf(from) == minuteOf(to) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire(now)
	if m := minuteOf(from); from > 0 && m > now/60_000 {
		h.minutes[m]--
		h.live--
		if h.minutes[m] == 0 {
			delete(h.minutes, m)
		}
	}
	if m := minuteOf(to); to > 0 && m > now/60_000 {
		h.minutes[m]++
		h.live++
	}
}

type memShard struct {
	mu      sync.Mutex
	entries map[memKey]memRecord
	deleted int // deletions since entries was made: a Go map keeps their room
}

// memKey and memRecord hold no pointers, so the garbage collector never
// scans the maps, however many records they hold.
type memKey [16]byte

type memRecord struct {
	expires int64 // unix milliseconds
	counter counter
	// steps and names are the use slots: the last step claimed and the
	// FNV-1a of the Use.Name it was claimed under (0: none).
	steps [2]uint64
	names [2]uint32
	owner uint16
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store holding at most capacity live
// records (DefaultCapacity when capacity < 1).
func NewMemory(capacity int) *Memory {
	if capacity < 1 {
		capacity = DefaultCapacity
	}
	m := &Memory{capacity: int64(capacity), owners: map[string]uint16{"": 0}, held: []*ownerHeld{newOwnerHeld()}}
	for i := range m.shards {
		m.shards[i].entries = make(map[memKey]memRecord)
	}
	return m
}

// Len returns the number of records held, expired or not.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// Capacity is the most records the store holds.
func (m *Memory) Capacity() int { return int(m.capacity) }

// Refused counts the ops refused because the store was full.
func (m *Memory) Refused() uint64 { return m.refused.Load() }

// owner returns owner's index, registering it on first sight. Owners are
// API key names: a handful.
func (m *Memory) owner(name string) uint16 {
	if name == "" {
		return 0
	}
	m.ownersMu.RLock()
	i, ok := m.owners[name]
	m.ownersMu.RUnlock()
	if ok {
		return i
	}
	m.ownersMu.Lock()
	defer m.ownersMu.Unlock()
	if i, ok := m.owners[name]; ok {
		return i
	}
	i = uint16(len(m.held))
	m.owners[name] = i
	m.held = append(m.held, newOwnerHeld())
	return i
}

// hold moves record from one expiry to another in its owner's count; the
// records of no owner ("") are bounded by nothing but the capacity, and
// are not counted.
func (m *Memory) hold(owner uint16, from, to, now int64) {
	if owner != 0 {
		m.heldBy(owner).move(from, to, now)
	}
}

func (m *Memory) heldBy(i uint16) *ownerHeld {
	m.ownersMu.RLock()
	defer m.ownersMu.RUnlock()
	return m.held[i]
}

// tagSum is the SHA-256 of a tag: it picks the shard of every record
// under the tag, and names the tag's record of key "".
func tagSum(tag string) [sha256.Size]byte { return sha256.Sum256([]byte(tag)) }

// toMemKey names a record by the first 128 bits of a SHA-256: of its tag
// for key "", else of the tag's sum and key. Two records would share an
// entry only if their hashes agreed on all 128 bits, a chance of about 1
// in 10^24 among millions.
func toMemKey(tag [sha256.Size]byte, key string) memKey {
	if key == "" {
		return memKey(tag[:16])
	}
	var buf [sha256.Size + 64]byte
	sum := sha256.Sum256(append(append(buf[:0], tag[:]...), key...))
	return memKey(sum[:16])
}

func nameHash(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return max(h.Sum32(), 1) // 0 is an empty slot
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, op Op) (Outcome, error) {
	now := op.Now.UnixMilli()
	if m.total.Load() >= m.capacity {
		m.sweepAll(now)
	}
	tag := tagSum(op.Tag)
	sh := &m.shards[tag[16]] // shards is 256: one byte picks one
	var (
		keys    [2]memKey
		recs    [2]memRecord
		present [2]bool
	)
	n := min(len(op.Records), 2)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	defer sh.compact(m)
	missing := 0
	for i := range n {
		keys[i] = toMemKey(tag, op.Records[i].Key)
		recs[i], present[i] = sh.get(m, keys[i], now)
		if !present[i] {
			missing++
		}
	}
	owner := m.owner(op.Owner)
	if missing > 0 {
		if out, err := m.reserve(sh, owner, op, missing, now); err != nil || out.Verdict != 0 {
			return out, err
		}
	}
	created := 0
	defer func() { m.release(missing - created) }()

	// A record holding a use lives at least as long as it did, and a new
	// claim as long as its TTL: the record keeps no expiry per slot.
	var used [2]int64
	for i := range n {
		if recs[i].names != [2]uint32{} {
			used[i] = recs[i].expires
		}
	}
	out := decide(op, recs[:n], now)
	if out.Verdict == Locked || out.Verdict == Reused {
		return out, nil
	}
	if out.Verdict == Accepted && op.Use.TTL > 0 {
		used[0] = max(used[0], now+op.Use.TTL.Milliseconds())
	}
	for i := range n {
		r := &recs[i]
		was := r.expires
		r.expires = max(r.counter.until(now), used[i])
		switch {
		case r.expires > now && present[i]:
			sh.entries[keys[i]] = *r
			m.hold(r.owner, was, r.expires, now)
		case r.expires > now:
			r.owner = owner
			sh.entries[keys[i]] = *r
			m.hold(owner, 0, r.expires, now)
			created++
		case present[i]:
			sh.remove(m, keys[i])
			m.hold(r.owner, was, 0, now)
		}
	}
	return out, nil
}

// decide is the one rule every store follows (redis.go's script is the
// same rule in Lua), over records already read: a lock refuses anything;
// a wrong code counts a failure on every record with a limit; a right code
// claims the use unless it was claimed, and ends the escalation of every
// record.
func decide(op Op, recs []memRecord, now int64) Outcome {
	var out Outcome
	for i := range recs {
		if left := recs[i].counter.locked(now); left > out.RetryAfter.Milliseconds() {
			out = Outcome{Verdict: Locked, RetryAfter: time.Duration(left) * time.Millisecond, LockedRecord: i}
		}
	}
	if out.Verdict == Locked {
		return out
	}
	if !op.Matched {
		out.Verdict = Failed
		for i := range recs {
			if locks := recs[i].counter.fail(op.Records[i].Limit, now); locks > int64(out.Locks) {
				out.Locks, out.LockedRecord = int(locks), i
			}
		}
		return out
	}
	if op.Use.TTL > 0 {
		r, i, name := &recs[0], op.Use.Slot&1, nameHash(op.Use.Name)
		if r.names[i] == name && r.steps[i] >= op.Use.Step {
			return Outcome{Verdict: Reused}
		}
		r.names[i], r.steps[i] = name, op.Use.Step
	}
	for i := range recs {
		recs[i].counter.succeed()
	}
	return Outcome{Verdict: Accepted}
}

// reserve makes room for missing new records of op's owner, or says why
// there is none: a zero Outcome and nil when there is.
func (m *Memory) reserve(sh *memShard, owner uint16, op Op, missing int, now int64) (Outcome, error) {
	if op.Owner != "" && op.OwnerMax > 0 {
		if held, wait := m.heldBy(owner).count(now); held+int64(missing) > int64(op.OwnerMax) {
			return Outcome{Verdict: OverShare, RetryAfter: wait}, nil
		}
	}
	for {
		total := m.total.Load()
		if total+int64(missing) <= m.capacity {
			if m.total.CompareAndSwap(total, total+int64(missing)) {
				return Outcome{}, nil
			}
			continue
		}
		// Full, though Apply swept: reclaim a few more in this shard and
		// look again once.
		before := m.total.Load()
		sh.reclaim(m, now)
		if m.total.Load() < before {
			continue
		}
		m.refused.Add(1)
		return Outcome{}, ErrFull.Wait(time.Duration(max(m.nextSweep.Load()-now, 1000)) * time.Millisecond)
	}
}

// release gives back n reserved records that were not created.
func (m *Memory) release(n int) {
	if n > 0 {
		m.total.Add(-int64(n))
	}
}

// get returns key's live record; the caller holds mu.
func (sh *memShard) get(m *Memory, key memKey, now int64) (memRecord, bool) {
	r, ok := sh.entries[key]
	if ok && now >= r.expires {
		sh.remove(m, key)
		return memRecord{}, false
	}
	return r, ok
}

// remove deletes key. The caller holds mu.
func (sh *memShard) remove(m *Memory, key memKey) {
	delete(sh.entries, key)
	m.total.Add(-1)
	sh.deleted++
}

// compact remakes the shard's map once as many deletions as its share of
// the capacity have left their room behind in it: a Go map never gives
// back the room of deleted entries, so a store that only ever held
// capacity records could otherwise grow without bound. The caller holds
// mu; the rebuild costs the shard's records, 1/256 of the store's.
func (sh *memShard) compact(m *Memory) {
	if int64(sh.deleted) < max(m.capacity/shards, 64) {
		return
	}
	fresh := make(map[memKey]memRecord, len(sh.entries))
	for k, r := range sh.entries {
		fresh[k] = r
	}
	sh.entries, sh.deleted = fresh, 0
}

// reclaim looks at a few records (map order is random) and deletes the
// expired ones, so expired records rarely pile up to a sweep. It never
// deletes a live record. The caller holds mu.
func (sh *memShard) reclaim(m *Memory, now int64) {
	const samples = 3
	seen := 0
	for k, r := range sh.entries {
		if now >= r.expires {
			sh.remove(m, k)
		}
		if seen++; seen == samples {
			return
		}
	}
}

// sweepAll deletes every expired record, a shard at a time, at most once
// per sweepEvery: a full store makes room before it refuses, and no
// shard's lock is held for more than that shard's records, nor for
// another shard's sweep.
func (m *Memory) sweepAll(now int64) {
	next := m.nextSweep.Load()
	if now < next || !m.nextSweep.CompareAndSwap(next, now+sweepEvery.Milliseconds()) {
		return
	}
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		sh.sweep(m, now)
		sh.compact(m)
		sh.mu.Unlock()
	}
}

// sweep deletes every expired record of the shard. The caller holds mu.
func (sh *memShard) sweep(m *Memory, now int64) {
	for k, r := range sh.entries {
		if now >= r.expires {
			sh.remove(m, k)
		}
	}
}

// Ping implements Store; memory is always there.
func (m *Memory) Ping(context.Context) error { return nil }
