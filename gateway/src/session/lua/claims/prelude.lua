-- prelude.lua: prepended to every claims script (lua/claims/*.lua) when it is loaded, so they share one
-- clock reading, the group helpers and the change log. Every claims script takes the same twelve KEYS (seat-hold.lua
-- one more, its request record's own key), all of one event and so all in one `{event:<id>}` hash-tag slot (cluster-safe):
-- KEYS[1] def hash {requiresAdmission, rate, maxSeats, holdMs, lastAdmitAt, ver}   KEYS[2] seats set
-- KEYS[3] holder: hashes `<KEYS[3]>:<b>` seatId -> userId   KEYS[4] sold hash seatId -> "<fence>:<userId>"
-- KEYS[5] groups: hashes `<KEYS[5]>:<b>` userId -> cmsgpack {fence, expiresAt ms, seatId...} (see decode_group)
--          (both spread over def field `nb` buckets, see holder_key; KEYS[3] and KEYS[5] themselves when nb is 0)
-- KEYS[6] last fence issued (see next_fence)   KEYS[7] queue zset userId -> seq
-- KEYS[8] queue sequence counter   KEYS[9] admitted zset userId -> admission expiresAt
-- KEYS[10] members: when the sweeper looks at each user next: the earlier of the next check that the
--          user's session still lives and the user's hold expiry (one entry per user does both: issue 15), in
--          buckets `<KEYS[10]>:<b>` indexed by KEYS[10] itself (see member_set)
-- KEYS[11] change log stream: entry id `<version>-0`, fields seatId -> status (free|held|sold)
-- KEYS[12] seat:hold records hash userId -> cmsgpack {requestId, expiresAt ms, outcome, ...} (see load_records)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local K_DEF, K_SEATS, K_HOLDER, K_SOLD, K_GROUPS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_FENCE, K_QUEUE, K_QSEQ, K_ADMITTED, K_MEMBERS = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_LOG, K_REQS = KEYS[11], KEYS[12]

-- The change log: every seat status change a script makes is noted here and appended by `logged` under a
-- new version (def field `ver`), in the same script, so the log can never miss or reorder a change. Nodes
-- read it to send coalesced `seat:update`s. Capped (about LOG_MAX entries); a reader that fell behind the
-- cap re-reads the whole map.
local LOG_MAX = 10000
local changes = {}
local function changed(seat, status)
  changes[#changes + 1] = seat
  changes[#changes + 1] = status
end
-- Appends the noted changes (if any) and returns `reply`. Chunked: unpack() takes a few thousand values at
-- most, so a very large change takes several consecutive versions.
local function logged(reply)
  for i = 1, #changes, 2000 do
    local v = redis.call('HINCRBY', K_DEF, 'ver', 1)
    redis.call('XADD', K_LOG, 'MAXLEN', '~', LOG_MAX, v .. '-0', unpack(changes, i, math.min(i + 1999, #changes)))
  end
  changes = {}
  return reply
end

-- Fences are a hybrid clock: next = max(last + 1, now_ms * FENCE_TICKS). Within one primary they grow by
-- the stored `last`; across a failover whose new primary lost the last writes (and so `last`), they still
-- grow because the clock part moved on: a lost fence was at most (its time + its lead) * FENCE_TICKS, where
-- the lead of `last` over the clock needs more than FENCE_TICKS new groups per ms on one event (more than
-- Redis runs scripts), and a failover takes far longer than a ms (Sentinel's down-after-milliseconds),
-- so the new primary's clock (within that of the old one) issues larger fences. Under 2^53 until the year
-- 2248 (Lua numbers are doubles, JSON needs safe integers). Kept as decimal strings in the group's JSON and
-- the request record: cjson writes numbers with 14 significant digits, fences have 16.
local FENCE_TICKS = 1024
local function fence_text(f)
  return string.format('%.0f', f)
end
local function next_fence()
  local last = tonumber(redis.call('GET', K_FENCE) or '0')
  local f = math.max(last + 1, now * FENCE_TICKS)
  redis.call('SET', K_FENCE, fence_text(f))
  return fence_text(f)
end

-- Buckets (issue 15): the holders and the groups are spread over def field `nb` hashes each, `<holder>:<b>`
-- and `<groups>:<b>` with b = bucket_of(seat or user id), so each stays a listpack (~30 B an entry instead
-- of the ~65-100 of one big hashtable). define-event.lua sizes nb so a bucket holds about BUCKET_SEATS seats
-- at full occupancy (groups are never more than seats). These keys are named here, not in KEYS: they carry
-- the event's hash tag, so they are in the one slot the script runs in (Redis Cluster allows that).
-- An event with no `nb` (defined before buckets) uses KEYS[3] and KEYS[5] themselves.
-- bucket_of is redis/bucket-hash.ts's bucketOf: both must agree (test/integration/claim-store.buckets.test.ts).
local BUCKET_SEATS = 64
local nb_cached = nil
local function bucket_count()
  if nb_cached == nil then nb_cached = tonumber(redis.call('HGET', K_DEF, 'nb') or '0') end
  return nb_cached
end
local function bucket_of(id, n)
  local h, byte = 0, string.byte
  for i = 1, #id do h = ((h + byte(id, i)) * 48271) % 2147483647 end
  return h % n
end
-- Memoised: a script asks for the same seat's or user's bucket several times (about 0.4 µs a hash). `count`
-- is the number of buckets when not nb (the members': MEMBER_BUCKETS).
local bucket_memo = {}
local function bucket_key(base, id, count)
  local n = count or bucket_count()
  if n == 0 then return base end
  local memo = bucket_memo[base]
  if not memo then
    memo = {}
    bucket_memo[base] = memo
  end
  local key = memo[id]
  if not key then
    key = base .. ':' .. bucket_of(id, n)
    memo[id] = key
  end
  return key
end
-- Bucket `b` of a part, and every key of a bucketed part (`base` is K_HOLDER, K_GROUPS or K_MEMBERS), for
-- reads of the whole part and deletes. (A script names a key it did not get in KEYS only through
-- bucket_key, bucket_named or bucket_keys: a test checks it.)
local function bucket_named(base, b)
  return base .. ':' .. b
end
local function bucket_keys(base, count)
  local n = count or bucket_count()
  if n == 0 then return {base} end
  local out = {}
  for b = 0, n - 1 do out[#out + 1] = bucket_named(base, b) end
  return out
end

-- Members in buckets too (issue 15: ~110 B an entry in one big skiplist, ~25 in a listpack): with buckets
-- (nb > 0) a member's time is in `<K_MEMBERS>:<b>`, b = bucket_of(user, MEMBER_BUCKETS) (fixed: members are
-- not bounded by seats; 256 buckets stay listpacks up to ~30,000 members), and K_MEMBERS is the index
-- b -> the earliest time in bucket b, so ZRANGE K_MEMBERS 0 0 is still the event's next due time and the due
-- members are found bucket by bucket. Without buckets (nb 0), K_MEMBERS is userId -> time itself.
local MEMBER_BUCKETS = 256
local function member_bucket(user)
  if bucket_count() == 0 then return nil end
  return bucket_key(K_MEMBERS, user, MEMBER_BUCKETS)
end
-- The index entry of a member bucket after a change that may have raised its earliest time or emptied it.
local function reindex(bucket)
  local first = redis.call('ZRANGE', bucket, 0, 0, 'WITHSCORES')
  local b = string.sub(bucket, #K_MEMBERS + 2)
  if first[2] then
    redis.call('ZADD', K_MEMBERS, first[2], b)
  else
    redis.call('ZREM', K_MEMBERS, b)
  end
end
-- ZADD of a member's time, with `flag` 'LT' (never later than planned) or 'XX' (only if a member), or nil.
local function member_set(user, at, flag)
  local bucket = member_bucket(user) or K_MEMBERS
  if flag then redis.call('ZADD', bucket, flag, at, user) else redis.call('ZADD', bucket, at, user) end
  if bucket == K_MEMBERS then return end
  if flag == 'LT' then
    -- Only ever earlier: the bucket's earliest time is the index's or this one.
    redis.call('ZADD', K_MEMBERS, 'LT', at, string.sub(bucket, #K_MEMBERS + 2))
  else
    reindex(bucket)
  end
end
-- ZREM of a member; 1 when it was one.
local function member_del(user)
  local bucket = member_bucket(user) or K_MEMBERS
  local removed = redis.call('ZREM', bucket, user)
  if bucket ~= K_MEMBERS and removed == 1 then reindex(bucket) end
  return removed
end
-- At most `limit` members whose time has come.
local function due_members(limit)
  if bucket_count() == 0 then
    return redis.call('ZRANGEBYSCORE', K_MEMBERS, '-inf', now, 'LIMIT', 0, limit)
  end
  local out = {}
  for _, b in ipairs(redis.call('ZRANGEBYSCORE', K_MEMBERS, '-inf', now, 'LIMIT', 0, limit)) do
    local bucket = bucket_named(K_MEMBERS, b)
    for _, user in ipairs(redis.call('ZRANGEBYSCORE', bucket, '-inf', now, 'LIMIT', 0, limit - #out)) do
      out[#out + 1] = user
    end
    if #out >= limit then break end
  end
  return out
end
local function holder_of(seat)
  return redis.call('HGET', bucket_key(K_HOLDER, seat), seat)
end
local function set_holder(seat, user)
  redis.call('HSET', bucket_key(K_HOLDER, seat), seat, user)
end
local function del_holder(seat)
  redis.call('HDEL', bucket_key(K_HOLDER, seat), seat)
end

-- A group is stored as cmsgpack {fence, expiresAt, seatId...} (about half the bytes of the cjson object
-- {f, e, s} it replaced, one per holder: issue 15); a value in that older form (`{` first, which no msgpack
-- array starts with) is still read. The fence is a number there: exact, as fences stay under 2^53.
local function decode_group(raw)
  if string.sub(raw, 1, 1) == '{' then return cjson.decode(raw) end
  local a = cmsgpack.unpack(raw)
  local seats = {}
  for i = 3, #a do seats[#seats + 1] = a[i] end
  return {f = a[1], e = a[2], s = seats}
end

local function get_group(user)
  local raw = redis.call('HGET', bucket_key(K_GROUPS, user), user)
  if not raw then return nil end
  return decode_group(raw)
end

-- A user with a group is a member looked at no later than the group's expiry (the sweeper ends it then); a
-- member whose group went stays until its next check, which forgets a user with nothing left.
local function put_group(user, g)
  if #g.s == 0 then
    redis.call('HDEL', bucket_key(K_GROUPS, user), user)
  else
    local packed = {tonumber(g.f), g.e}
    for _, seat in ipairs(g.s) do packed[#packed + 1] = seat end
    redis.call('HSET', bucket_key(K_GROUPS, user), user, cmsgpack.pack(packed))
    member_set(user, g.e, 'LT')
  end
end

-- Ends the user's whole hold group; returns the seats it freed (only those still held by the user).
local function end_group(user)
  local g = get_group(user)
  redis.call('HDEL', bucket_key(K_GROUPS, user), user)
  local freed = {}
  if not g then return freed end
  for _, s in ipairs(g.s) do
    if holder_of(s) == user then
      del_holder(s)
      freed[#freed + 1] = s
      changed(s, 'free')
    end
  end
  return freed
end

-- Takes the seats of the set `gone` (seatId -> true) out of the user's group, if it has one.
local function drop_from_group(user, gone)
  local g = get_group(user)
  if not g then return end
  local keep = {}
  for _, s in ipairs(g.s) do
    if not gone[s] then keep[#keep + 1] = s end
  end
  g.s = keep
  put_group(user, g)
end

-- Makes the user a member looked at within check_ms (never later than already planned).
local function add_member(user, check_ms)
  member_set(user, now + check_ms, 'LT')
end

-- The seats key is a set, or, for an event that declares sections (def field `sep`), a sorted set with every
-- score 0: one section's seats (the ids that start with `<section><sep>`) are then one ZRANGEBYLEX range.
local seats_zset = nil
local function seats_sorted()
  if seats_zset == nil then seats_zset = redis.call('TYPE', K_SEATS)['ok'] == 'zset' end
  return seats_zset
end
local function seat_known(s)
  if seats_sorted() then return redis.call('ZSCORE', K_SEATS, s) ~= false end
  return redis.call('SISMEMBER', K_SEATS, s) == 1
end
local function all_seats()
  if seats_sorted() then return redis.call('ZRANGE', K_SEATS, 0, -1) end
  return redis.call('SMEMBERS', K_SEATS)
end

local function unknown_seats(first)
  local unknown = {}
  for i = first, #ARGV do
    if not seat_known(ARGV[i]) then unknown[#unknown + 1] = ARGV[i] end
  end
  return unknown
end

-- The due index (redis/due-index.ts): def field `due` is when this event next needs the sweeper (its earliest
-- member time: a hold expiry or a session check, '' when none), `dueSeq` grows with every change of it. The global index
-- (another slot) is a copy the node writes after the script, applied only when its seq is not older than
-- the one the index has, so the copy converges to the latest decision. with_due(reply, force) appends
-- {due, seq} to `reply` when `due` changed (or always, with force), else returns it unchanged.
local function next_due()
  local m = redis.call('ZRANGE', K_MEMBERS, 0, 0, 'WITHSCORES')
  if not m[2] then return '' end
  return string.format('%.0f', tonumber(m[2]))
end
local function with_due(reply, force)
  local due = next_due()
  local seq = redis.call('HGET', K_DEF, 'dueSeq') or '0'
  if due ~= (redis.call('HGET', K_DEF, 'due') or '') then
    -- Clock-based like fences, so an event deleted and defined again never reuses a seq.
    seq = string.format('%.0f', math.max(tonumber(seq) + 1, now * 1024))
    redis.call('HSET', K_DEF, 'due', due, 'dueSeq', seq)
  elseif not force then
    return reply
  end
  reply[#reply + 1] = {due, seq}
  return reply
end

-- The seat:hold request records (seat-hold.lua): a user's recent records in this event are one field of
-- K_REQS, cmsgpack of a flat list {requestId, expiresAt ms, outcome, ...} (issue 15: one hash entry per user
-- instead of a key per request). Each record keeps its own expiry; expired ones are dropped when the list is
-- written, and by the member check (settle-members.lua: a user with live records stays a member until they
-- expire). A request id of 32 lowercase hex digits (the SDK's) is kept as its 16 bytes after a NUL byte,
-- which no printable id starts with.
local RECORDS_MAX = 8
local function record_id(id)
  if #id == 32 and not string.find(id, '[^0-9a-f]') then
    return '\0' .. string.gsub(id, '..', function(h) return string.char(tonumber(h, 16)) end)
  end
  return id
end
-- The user's live records (a list as stored) and whether any had expired.
local function load_records(user)
  local raw = redis.call('HGET', K_REQS, user)
  local live, expired = {}, false
  if raw then
    local all = cmsgpack.unpack(raw)
    for i = 1, #all, 3 do
      if all[i + 1] > now then
        live[#live + 1], live[#live + 2], live[#live + 3] = all[i], all[i + 1], all[i + 2]
      else
        expired = true
      end
    end
  end
  return live, expired
end
local function save_records(user, list)
  if #list == 0 then
    redis.call('HDEL', K_REQS, user)
  else
    redis.call('HSET', K_REQS, user, cmsgpack.pack(list))
  end
end
