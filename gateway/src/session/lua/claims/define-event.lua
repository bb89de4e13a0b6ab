-- define-event.lua: ioredis command `defineEvent`. Creates or replaces an event definition
-- (idempotent: the same PUT twice leaves the same state). Seats missing from the new list are removed only
-- if free; a held or sold seat cannot be removed (nothing changes then). A change of the seat set or of the
-- section separator takes a new version and empties the change log, so every follower re-reads the map (the
-- log has no "removed"). With a section separator the seats are kept in a sorted set (see prelude.lua's
-- seats_sorted), else in a set; changing between the two rewrites the key. The definition also fixes how
-- many buckets the holders and groups are spread over (def field `nb`, see the end).
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] requiresAdmission 0|1   ARGV[2] admissions per second (0 = only by service call)
-- ARGV[3] maxSeats per user   ARGV[4] holdMs   ARGV[5] section separator ('' = no sections)   ARGV[6..] seat ids
-- Reply: {1, existedBefore 0|1, seatCount} or {-1, {blockedSeatId...}}
local FIRST = 6
local existed = redis.call('EXISTS', K_DEF)
local sep = ARGV[5]
local wanted = {}
for i = FIRST, #ARGV do wanted[ARGV[i]] = true end
local had, blocked, remove = {}, {}, {}
for _, s in ipairs(all_seats()) do
  had[s] = true
  if not wanted[s] then
    if holder_of(s) or redis.call('HEXISTS', K_SOLD, s) == 1 then
      blocked[#blocked + 1] = s
    else
      remove[#remove + 1] = s
    end
  end
end
if #blocked > 0 then return {-1, blocked} end
local added = {}
for i = FIRST, #ARGV do
  if not had[ARGV[i]] then
    added[#added + 1] = ARGV[i]
    had[ARGV[i]] = true
  end
end
-- unpack() is limited to a few thousand values: every multi-value call goes in batches.
local BATCH = 1000
local function each_batch(list, fn)
  for i = 1, #list, BATCH do fn(unpack(list, i, math.min(i + BATCH - 1, #list))) end
end
local sorted = sep ~= ''
local function add(...)
  if sorted then
    local args = {}
    for _, s in ipairs({...}) do
      args[#args + 1] = 0
      args[#args + 1] = s
    end
    redis.call('ZADD', K_SEATS, unpack(args))
  else
    redis.call('SADD', K_SEATS, ...)
  end
end
if redis.call('EXISTS', K_SEATS) == 1 and seats_sorted() ~= sorted then
  -- The kind of key changes: write every wanted seat again.
  redis.call('DEL', K_SEATS)
  local all = {}
  for i = FIRST, #ARGV do all[#all + 1] = ARGV[i] end
  each_batch(all, add)
else
  each_batch(remove, function(...)
    if seats_sorted() then redis.call('ZREM', K_SEATS, ...) else redis.call('SREM', K_SEATS, ...) end
  end)
  each_batch(added, add)
end
local old_sep = redis.call('HGET', K_DEF, 'sep') or ''
if existed == 1 and (#added > 0 or #remove > 0 or old_sep ~= sep) then
  redis.call('HINCRBY', K_DEF, 'ver', 1)
  redis.call('DEL', K_LOG)
end
redis.call('HSET', K_DEF, 'requiresAdmission', ARGV[1], 'rate', ARGV[2], 'maxSeats', ARGV[3], 'holdMs', ARGV[4], 'sep', sep)
local count
if sorted then count = redis.call('ZCARD', K_SEATS) else count = redis.call('SCARD', K_SEATS) end
-- The holder and group buckets (prelude.lua's bucket_key): a new event gets one per BUCKET_SEATS seats. An
-- event whose buckets would hold over 1.5 times that at full occupancy (it grew, or it was defined before
-- buckets: nb 0) is rebuilt with the count its seats now want; one that shrank keeps its count (a bucket
-- that holds nothing is no key).
local old_nb = bucket_count()
if old_nb == 0 or old_nb * BUCKET_SEATS * 1.5 < count then
  local entries = {}
  for _, base in ipairs({K_HOLDER, K_GROUPS}) do
    for _, bucket in ipairs(bucket_keys(base)) do
      local all = redis.call('HGETALL', bucket)
      for i = 1, #all, 2 do entries[#entries + 1] = {base, all[i], all[i + 1]} end
      redis.call('DEL', bucket)
    end
  end
  -- An event without buckets had its members in K_MEMBERS itself: they move into member buckets.
  local members = {}
  if old_nb == 0 then
    members = redis.call('ZRANGE', K_MEMBERS, 0, -1, 'WITHSCORES')
    redis.call('DEL', K_MEMBERS)
  end
  nb_cached = math.max(1, math.ceil(count / BUCKET_SEATS))
  bucket_memo = {}
  redis.call('HSET', K_DEF, 'nb', nb_cached)
  for _, e in ipairs(entries) do
    local base, field = e[1], e[2]
    redis.call('HSET', bucket_key(base, field), field, e[3])
  end
  for i = 1, #members, 2 do member_set(members[i], members[i + 1], 'LT') end
end
return {1, existed, count}
