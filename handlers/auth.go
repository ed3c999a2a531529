package handlers

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/acme/totp/access"
	"github.com/acme/totp/client/api"
	"github.com/acme/totp/events"
	"github.com/acme/totp/fault"
)

// keyNameKey is where authenticate leaves the name of the key a request
// came with.
const keyNameKey = "totp.key"

// KeyName names a key given bare: the first 8 hex digits of its SHA-256.
func KeyName(key string) string { return access.BareName(key) }

// keyName is the name of the API key the request came with: "" without
// keys.
func keyName(c *gin.Context) string {
	return c.GetString(keyNameKey)
}

// routeScopes is the scope each keyed route needs. A route missing here
// is refused to every key, so a new route cannot slip in unguarded.
var routeScopes = map[string]access.Scope{
	"GET /generate/secret":                        access.Enrol,
	"POST /seal":                                  access.Enrol,
	"POST /reseal":                                access.Enrol,
	"POST /generate/recovery-codes":               access.Enrol,
	"GET /auth/generate/secret/:encoding/:length": access.Enrol,
	"POST /verify/token":                          access.Verify,
	"POST /hotp/verify":                           access.Verify,
	"POST /hotp/resync":                           access.Verify,
	"POST /verify/recovery-code":                  access.Verify,
	"POST /challenge/verify":                      access.Verify,
	"POST /challenge/resend":                      access.Challenge,
	"POST /2fa/requestotp":                        access.Challenge,
	"POST /2fa/verifyotp":                         access.Verify,
	"POST /trust":                                 access.Enrol,
	"POST /trust/verify":                          access.Verify,
	"POST /auth/verify/token/:encoding":           access.Verify,
	"POST /generate/token":                        access.Reveal,
	"POST /generate/qr":                           access.Reveal,
	"POST /hotp/token":                            access.Reveal,
	"POST /auth/generate/token/:encoding":         access.Reveal,
	"POST /challenge":                             access.Challenge,
	"GET /metrics":                                access.Metrics,
}

// projectRoutes are the email OTP service's routes, whose key comes as
// project_key with its name as project_name, and needs the challenge and
// verify scopes both.
const projectRoutes = "/2fa/"

// RouteScopes returns the scope each keyed route needs, for tests and
// documents.
func RouteScopes() map[string]access.Scope { return maps.Clone(routeScopes) }

// authenticate refuses requests without one of the ring's keys, sent as
// X-API-Key or as a bearer token (401), or with a key that lacks the
// route's scope (403 insufficient_scope). A peer that sent more than
// MaxWrongKeys wrong keys within a minute is answered 429 until the
// minute ends, so keys cannot be guessed at speed.
func (s *server) authenticate(ring *access.Ring, wrong *peerCounts) gin.HandlerFunc {
	return func(c *gin.Context) {
		peer := c.RemoteIP()
		if wait, over := wrong.over(peer); over {
			s.fail(c, fault.Whole(fault.Throttled, api.CodeTooManyAttempts, "",
				"too many wrong API keys from this address; retry after the minute").Wait(wait))
			return
		}
		project := strings.HasPrefix(c.FullPath(), projectRoutes)
		given := c.GetHeader("X-API-Key")
		if project {
			// The email OTP service's callers send their key so.
			given = c.GetHeader("project_key")
		} else if given == "" {
			if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
				given = strings.TrimSpace(bearer)
			}
		}
		key, ok := ring.Match(given)
		if !ok {
			if wrong.add(peer) == MaxWrongKeys {
				// Once a minute a peer: the wrong key that reaches the limit.
				s.events.Emit(events.Event{Type: events.AuthKeyRejectedBurst, Peer: peer})
			}
			c.Header("WWW-Authenticate", `Bearer realm="totp"`)
			s.fail(c, fault.Whole(fault.Unauthenticated, api.CodeUnauthorized, "",
				"an API key is required: send it as X-API-Key or Authorization: Bearer"))
			return
		}
		c.Set(keyNameKey, key.Name)
		if project && c.GetHeader("project_name") != key.Name {
			s.fail(c, fault.Whole(fault.Unauthenticated, api.CodeUnauthorized, "",
				"project_name must be the name of the API key sent as project_key, as it is written"))
			return
		}
		if project && !(key.Allows(access.Challenge) && key.Allows(access.Verify)) {
			f := fault.Whole(fault.Forbidden, api.CodeInsufficientScope, "",
				fmt.Sprintf("this API key (%s) lacks the challenge and verify scopes the email OTP routes need", key.Name))
			f.Scope = "challenge,verify"
			s.fail(c, f)
			return
		}
		scope, known := routeScopes[c.Request.Method+" "+c.FullPath()]
		if !known || !key.Allows(scope) {
			f := fault.Whole(fault.Forbidden, api.CodeInsufficientScope, "",
				fmt.Sprintf("this API key (%s) lacks the %s scope this route needs", key.Name, scope))
			f.Scope = string(scope)
			s.fail(c, f)
			return
		}
		c.Next()
	}
}

// MaxWrongKeys is how many wrong API keys one peer may send in a minute.
const MaxWrongKeys = 20

// peerCounts counts wrong keys per peer address in minutes: this
// minute's counts, and nothing older. It holds at most maxPeers addresses
// a minute; past that, every new address shares one count, so a flood
// from many addresses is throttled together rather than grow the map.
type peerCounts struct {
	now    func() time.Time
	mu     sync.Mutex
	minute int64
	counts map[string]int
}

// roll starts a new minute when this one has passed. The caller holds mu.
func (p *peerCounts) roll() int64 {
	now := p.now()
	if m := now.Unix() / 60; m != p.minute {
		p.minute, p.counts = m, map[string]int{}
	}
	return 60 - now.Unix()%60
}

func (p *peerCounts) key(peer string) string {
	if _, ok := p.counts[peer]; !ok && len(p.counts) >= maxPeers {
		return "" // the shared count of every address past maxPeers
	}
	return peer
}

func (p *peerCounts) over(peer string) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	left := p.roll()
	return time.Duration(left) * time.Second, p.counts[p.key(peer)] >= MaxWrongKeys
}

// add counts a wrong key of peer, and returns its count this minute.
func (p *peerCounts) add(peer string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll()
	k := p.key(peer)
	p.counts[k]++
	return p.counts[k]
}

const maxPeers = 100_000

func newPeerCounts(now func() time.Time) *peerCounts {
	return &peerCounts{now: now, counts: map[string]int{}}
}
