package guard

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis shared by a fleet of instances: one server,
// a Sentinel-managed primary or a cluster, whatever client go-redis's
// UniversalClient stands for. Each operation is one Lua script, so it is
// atomic across instances; the keys one script touches share a hash tag
// (Record names them so), so on a cluster every script runs on one slot;
// and every key carries a TTL, so Redis reclaims what expires.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on client whose keys all start with prefix,
// which must hold no brace: a brace would start the keys' hash tag.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// EvictionPolicies returns the maxmemory-policy of every server that holds
// the store's keys: every primary of a cluster, or the one server. Any
// policy but noeviction lets Redis drop a guard key before its TTL, since
// each has one; noeviction makes a full Redis refuse writes, which fails
// closed. Managed services often refuse CONFIG: that is an error here.
func (r *Redis) EvictionPolicies(ctx context.Context) ([]string, error) {
	return r.configOfEach(ctx, "maxmemory-policy")
}

// MaxMemories returns the maxmemory of every server that holds the
// store's keys, "0" where none is set: such a Redis grows with the guard's
// records until its host kills it, rather than refuse.
func (r *Redis) MaxMemories(ctx context.Context) ([]string, error) {
	return r.configOfEach(ctx, "maxmemory")
}

func (r *Redis) configOfEach(ctx context.Context, name string) ([]string, error) {
	get := func(ctx context.Context, c *redis.Client) (string, error) {
		v, err := c.ConfigGet(ctx, name).Result()
		if err != nil {
			return "", err
		}
		return v[name], nil
	}
	if cluster, ok := r.client.(*redis.ClusterClient); ok {
		var (
			mu     sync.Mutex
			values []string
		)
		err := cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			v, err := get(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			values = append(values, v)
			return err
		})
		return values, err
	}
	c, ok := r.client.(*redis.Client)
	if !ok {
		return nil, errors.New("unknown kind of Redis client")
	}
	v, err := get(ctx, c)
	return []string{v}, err
}

// applyScript is decide (memory.go) in Lua, over one or two hashes that
// share a hash tag. KEYS: the records. ARGV: now (unix ms), room (how
// many records the op may create; -1 no bound), matched (1/0), then per
// record its limit's max, window and max lock (ms), then the use's slot,
// name, step (decimal, compared as text: Lua's numbers lose integers past
// 2^53) and TTL (ms), then the owner. Returns {result, retry ms, locked
// record (0-based), locks} followed by, per record, the expiry it now has
// when that grew (ms; 0 when not) and the owner it counts against.
var applyScript = redis.NewScript(`
local now, room, matched = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local n = #KEYS
local u = 4 + 3 * n
local slot, name, step, ttl, owner = ARGV[u], ARGV[u + 1], ARGV[u + 2], tonumber(ARGV[u + 3]), ARGV[u + 4]
local recs, missing = {}, 0
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i], 'f', 'w', 'l', 'n', 'm', 'uu', 'e', 'o', 's0n', 's0s', 's1n', 's1s')
  local r = {f = tonumber(v[1] or 0), w = tonumber(v[2] or 0), l = tonumber(v[3] or 0), n = tonumber(v[4] or 0),
    m = tonumber(v[5] or 0), uu = tonumber(v[6] or 0), e = tonumber(v[7] or 0), o = v[8],
    s0n = v[9] or '', s0s = v[10] or '', s1n = v[11] or '', s1s = v[12] or '',
    max = tonumber(ARGV[3 + 3 * i - 2]), window = tonumber(ARGV[3 + 3 * i - 1]), maxlock = tonumber(ARGV[3 + 3 * i])}
  r.present = r.e > now
  if not r.present then
    missing = missing + 1
    r.f, r.w, r.l, r.n, r.m, r.uu, r.e, r.o = 0, 0, 0, 0, 0, 0, 0, owner
    r.s0n, r.s0s, r.s1n, r.s1s = '', '', '', ''
  end
  recs[i] = r
end
if missing > 0 and room >= 0 and missing > room then
  return {5, 0, 0, 0}
end
local result, retry, which, locks = 0, 0, 0, 0
for i = 1, n do
  if recs[i].l - now > retry then result, retry, which = 4, recs[i].l - now, i - 1 end
end
if result == 4 then return {4, retry, which, 0} end
local function ge(a, b)
  if #a ~= #b then return #a > #b end
  return a >= b
end
if not matched then
  result = 2
  for i = 1, n do
    local c = recs[i]
    if c.max >= 1 then
      if now >= c.w then c.f, c.w = 0, now + c.window end
      c.f = c.f + 1
      if c.f >= c.max then
        if now >= c.m then c.n = 0 end
        c.n = c.n + 1
        local lock, k = c.window, 1
        while k < c.n and lock < c.maxlock do lock, k = lock * 2, k + 1 end
        if c.maxlock > c.window then
          if lock > c.maxlock then lock = c.maxlock end
          c.m = now + lock + 86400000
        else
          c.n, c.m = 0, 0
        end
        c.l = now + lock
        c.f, c.w = 0, 0
        local began = c.n
        if began < 1 then began = 1 end
        if began > locks then locks, which = began, i - 1 end
      end
    end
  end
else
  result = 1
  if ttl > 0 then
    local r = recs[1]
    local sn, ss = 's0n', 's0s'
    if slot == '1' then sn, ss = 's1n', 's1s' end
    if r[sn] == name and r[ss] ~= '' and ge(r[ss], step) then return {3, 0, 0, 0} end
    r[sn], r[ss] = name, step
    if now + ttl > r.uu then r.uu = now + ttl end
  end
  for i = 1, n do recs[i].n, recs[i].m = 0, 0 end
end
local out = {result, retry, which, locks}
for i = 1, n do
  local c = recs[i]
  local e = c.l
  if c.f > 0 and c.w > e then e = c.w end
  if c.n > 0 and c.m > e then e = c.m end
  if c.uu > e then e = c.uu end
  if e > now then
    redis.call('HSET', KEYS[i], 'f', c.f, 'w', c.w, 'l', c.l, 'n', c.n, 'm', c.m, 'uu', c.uu, 'e', e, 'o', c.o,
      's0n', c.s0n, 's0s', c.s0s, 's1n', c.s1n, 's1s', c.s1s)
    redis.call('PEXPIRE', KEYS[i], e - now)
  elseif c.present then
    redis.call('DEL', KEYS[i])
  end
  local grew = 0
  if e > c.e then grew = e end
  out[#out + 1] = grew
  out[#out + 1] = c.o
end
return out
`)

// roomScript reads how many more records an owner may hold: its sorted
// set holds each record it counts for, scored by the record's expiry.
// KEYS[1] the set; ARGV now (ms), most. Returns {room, ms until the
// oldest record expires}.
var roomScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZCARD', KEYS[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = 0
if first[2] then wait = tonumber(first[2]) - tonumber(ARGV[1]) end
return {tonumber(ARGV[2]) - held, wait}
`)

// holdScript records that an owner holds a record until an expiry.
// KEYS[1] the set; ARGV now, then member and expiry pairs.
var holdScript = redis.NewScript(`
for i = 2, #ARGV, 2 do
  local cur = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not cur or tonumber(cur) < tonumber(ARGV[i + 1]) then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIRE', KEYS[1], math.max(tonumber(last[2]) - tonumber(ARGV[1]), 1)) end
return 0
`)

// Apply implements Store. An op of an owner with a bound costs three
// round trips when it creates or extends a record: the owner's room, the
// op, and the owner's record of what it now holds, which lives in
// another slot. Two ops of one owner in flight at once may both find
// room for the last record: the share can be passed by the owner's
// concurrency, never more.
func (r *Redis) Apply(ctx context.Context, op Op) (Outcome, error) {
	now := op.Now.UnixMilli()
	bounded := op.Owner != "" && op.OwnerMax > 0
	room, wait := int64(-1), int64(0)
	if bounded {
		res, err := roomScript.Run(ctx, r.client, []string{r.ownerKey(op.Owner)}, now, op.OwnerMax).Int64Slice()
		if err != nil {
			return Outcome{}, r.storeErr(err)
		}
		if len(res) != 2 {
			return Outcome{}, errors.New("unexpected reply from room script")
		}
		room, wait = max(res[0], 0), res[1]
	}
	keys := make([]string, len(op.Records))
	args := make([]any, 0, 8+3*len(op.Records))
	matched := 0
	if op.Matched {
		matched = 1
	}
	args = append(args, now, room, matched)
	for i, rec := range op.Records {
		keys[i] = r.prefix + "g:{" + op.Tag + "}" + rec.Key
		args = append(args, rec.Limit.Max, rec.Limit.Window.Milliseconds(), rec.Limit.MaxLock.Milliseconds())
	}
	args = append(args, op.Use.Slot, op.Use.Name, strconv.FormatUint(op.Use.Step, 10), op.Use.TTL.Milliseconds(), op.Owner)
	res, err := applyScript.Run(ctx, r.client, keys, args...).Slice()
	if err != nil {
		return Outcome{}, r.storeErr(err)
	}
	if len(res) < 4 {
		return Outcome{}, errors.New("unexpected reply from apply script")
	}
	num := func(v any) int64 { n, _ := v.(int64); return n }
	out := Outcome{Verdict: Verdict(num(res[0])), RetryAfter: time.Duration(num(res[1])) * time.Millisecond, LockedRecord: int(num(res[2])), Locks: int(num(res[3]))}
	if out.Verdict == OverShare {
		out.RetryAfter = time.Duration(max(wait, 1000)) * time.Millisecond
		return out, nil
	}
	// Tell each owner whose record now lives longer, so its share counts
	// the record until it really expires.
	held := map[string][]any{}
	for i := 4; i+1 < len(res); i += 2 {
		owner, _ := res[i+1].(string)
		if e := num(res[i]); e > 0 && owner != "" && op.OwnerMax > 0 {
			held[owner] = append(held[owner], keys[(i-4)/2], e)
		}
	}
	for owner, pairs := range held {
		if err := holdScript.Run(ctx, r.client, []string{r.ownerKey(owner)}, append([]any{now}, pairs...)...).Err(); err != nil {
			return Outcome{}, r.storeErr(err)
		}
	}
	return out, nil
}

// ownerKey is the sorted set of the records an owner holds, in a slot of
// its own. Braces in the name would change the hash tag, so they go.
func (r *Redis) ownerKey(owner string) string {
	return r.prefix + "o:{" + strings.NewReplacer("{", "(", "}", ")").Replace(owner) + "}"
}

// storeErr is ErrFull for a Redis at maxmemory under noeviction,
// which refuses every script that writes: right and wrong codes alike.
func (r *Redis) storeErr(err error) error {
	if strings.HasPrefix(err.Error(), "OOM ") {
		return ErrFull.Wait(time.Second)
	}
	return err
}

// ErrClusterNode means a single-server client points at a node of a Redis
// Cluster, which would answer MOVED for most keys.
var ErrClusterNode = errors.New("REDIS_URL names a node of a Redis Cluster: set REDIS_MODE=cluster")

// Ping implements Store: the server answers, and is what the client
// expects it to be.
func (r *Redis) Ping(ctx context.Context) error {
	c, ok := r.client.(*redis.Client)
	if !ok {
		return r.client.Ping(ctx).Err()
	}
	info, err := c.Info(ctx, "cluster").Result()
	if err != nil {
		return err
	}
	if strings.Contains(info, "cluster_enabled:1") {
		return ErrClusterNode
	}
	return nil
}
