package guard

import (
	"context"
	"time"
)

// Store keeps the guard's records. Apply is atomic, across goroutines and,
// for shared stores, across instances.
type Store interface {
	// Apply applies op to its records as one step and says what came of it.
	Apply(ctx context.Context, op Op) (Outcome, error)
	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error
}

// Op is one attempt, applied to one or two records that share a hash tag
// (so a Redis Cluster keeps them in one slot, where one script reads
// both). Records[0] is what the attempt is about (a secret, a challenge,
// a set of recovery hashes) and holds its used steps; Records[1], when
// there is one, counts failures beside it (a client of the secret, the
// subject of a challenge).
//
// Before anything else the store makes sure it could keep every record of
// the op that does not exist yet, whether or not the attempt will need it:
// a full store, or an owner past its share, refuses a right code and a
// wrong one alike, so the answer tells nothing about the code.
type Op struct {
	Now     time.Time
	Tag     string
	Records []Record
	// Owner is who makes the attempt (an API key's name); the records it
	// creates count against it, and past OwnerMax live records it may
	// create none. "" or OwnerMax 0: no bound.
	Owner    string
	OwnerMax int
	// Matched says the code was right: the op claims Use on Records[0]
	// unless a record is locked. A wrong code counts a failure on every
	// record with a limit.
	Matched bool
	Use     Use
}

// Record names one record of an Op and the failures it takes.
type Record struct {
	Key   string // unique within the op's tag
	Limit Limit  // zero Max: the record counts no failures
}

// Limit is how many failures a record takes before it locks, and for how
// long.
type Limit struct {
	// Max failures within Window lock the record.
	Max    int
	Window time.Duration
	// MaxLock caps the lock: each lock within a day of the last doubles
	// it, from Window up to MaxLock. MaxLock at or below Window: every lock
	// lasts Window.
	MaxLock time.Duration
}

// escalationMemory is how long a record remembers its last lock, so the
// next one is longer: a day, as the README states.
const escalationMemory = 24 * time.Hour

// Use is the step a right code claims: refused when Slot of Records[0]
// already holds Step or a later one under the same Name. Name tells apart
// what the steps count (a TOTP period, an HOTP counter); a use under
// another name replaces the slot.
type Use struct {
	Slot int // 0 or 1
	Name string
	Step uint64
	TTL  time.Duration // how long the use must be remembered
}

// Verdict is what an Op came to.
type Verdict int

// The verdicts of an Op.
const (
	Accepted  Verdict = iota + 1 // the use is claimed
	Failed                       // the failure is counted
	Reused                       // the step, or a later one, was claimed before
	Locked                       // a record is locked; nothing changed
	OverShare                    // the op needs a record its owner may not create; nothing changed
)

// Outcome is a Store's answer to an Op.
type Outcome struct {
	Verdict Verdict
	// RetryAfter is how long the lock still runs (Locked), or when the
	// owner's oldest record expires (OverShare).
	RetryAfter time.Duration
	// LockedRecord is the index of the locked record with the longest lock
	// (Locked), or of the record this failure locked (Failed, with Locks).
	LockedRecord int
	// Locks counts the locks of LockedRecord within a day, this one
	// included, when this failure locked it.
	Locks int
}

// counter is the failure state of one record, kept alike by every store.
// Times are unix milliseconds.
type counter struct {
	windowEnd   int64 // when the failures counted so far stop counting
	lockedUntil int64
	locksUntil  int64  // when locks is forgotten
	failures    uint32 // within the window
	locks       uint32 // within escalationMemory of the last
}

// locked is how long the lock runs from now, 0 when there is none.
func (c *counter) locked(now int64) int64 {
	return max(c.lockedUntil-now, 0)
}

// fail counts a failure under l at now and reports the lock it began:
// its number within a day, or 0 when the failure locked nothing.
func (c *counter) fail(l Limit, now int64) int64 {
	if l.Max < 1 {
		return 0
	}
	if now >= c.windowEnd {
		c.failures, c.windowEnd = 0, now+l.Window.Milliseconds()
	}
	c.failures++
	if int64(c.failures) < int64(l.Max) {
		return 0
	}
	if now >= c.locksUntil {
		c.locks = 0
	}
	c.locks++
	lock := l.Length(int(c.locks))
	if l.MaxLock > l.Window {
		c.locksUntil = now + lock.Milliseconds() + escalationMemory.Milliseconds()
	} else {
		c.locks, c.locksUntil = 0, 0
	}
	c.lockedUntil = now + lock.Milliseconds()
	c.failures, c.windowEnd = 0, 0
	return int64(max(c.locks, 1))
}

// succeed is a right code after any lock has passed: the escalation
// starts again from the first lock.
func (c *counter) succeed() {
	c.locks, c.locksUntil = 0, 0
}

// until is when nothing of c matters any more.
func (c *counter) until(now int64) int64 {
	end := c.lockedUntil
	if c.failures > 0 {
		end = max(end, c.windowEnd)
	}
	if c.locks > 0 {
		end = max(end, c.locksUntil)
	}
	if end <= now {
		return 0
	}
	return end
}
