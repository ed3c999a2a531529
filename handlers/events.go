package handlers

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/challenge"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/events"
	"github.com/acme/totp/fault"
	"github.com/acme/totp/guard"
)

// lockEvent tells of the lock a verification just set, if it set one:
// a client's, a secret's first of the day, or an escalated one.
func (s *server) lockEvent(lock *guard.Lock, who guard.Caller, context string) {
	if lock == nil {
		return
	}
	kind := events.SecretLocked
	switch {
	case lock.Client:
		kind = events.ClientLocked
	case lock.Count > 1:
		kind = events.SecretLockEscalated
	}
	s.events.Emit(events.Event{Type: kind, Key: who.Owner, Context: context, Client: who.Client,
		SecretFingerprint: lock.Fingerprint, RetryAfter: fault.Seconds(lock.For), Locks: lock.Count})
}

// subjectLockEvent tells of the lock a wrong challenge code just set on
// its subject; subject is "" when the request named none (a bearer token).
func (s *server) subjectLockEvent(c *gin.Context, res challenge.Result, subject string) {
	if res.SubjectLocked > 0 {
		s.events.Emit(events.Event{Type: events.ChallengeSubjectLocked, Key: keyName(c), Subject: subject, RetryAfter: fault.Seconds(res.SubjectLocked)})
	}
}

// refusalEvent tells, at most once a minute each, that the store is full
// or a key holds its whole share of it.
func (s *server) refusalEvent(c *gin.Context, f *fault.Error) {
	switch f.Code {
	case api.CodeStoreFull:
		if s.fullEvents.due(time.Now()) {
			s.events.Emit(events.Event{Type: events.GuardStoreFull, Key: keyName(c)})
		}
	case api.CodeRateLimited:
		if s.shareEvents.due(time.Now()) {
			s.events.Emit(events.Event{Type: events.GuardKeyShareExceeded, Key: keyName(c)})
		}
	}
}
