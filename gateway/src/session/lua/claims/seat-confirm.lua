-- seat-confirm.lua: ioredis command `seatConfirm`. Sells seats held by the user under `fence`: the group
-- must still carry that fence and not have expired, and the user must hold every seat. Sold is final. A
-- retried confirm (same user, seats, fence) succeeds again with nothing newly sold, and rewrites one sale
-- as it is, so that a WAIT after the retry (REDIS_WAIT_REPLICAS) covers the first call's sale too.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] userId   ARGV[2] fence   ARGV[3..] seat ids
-- Reply: {1, {newlySold...}} | {-5} stale fence | {-2, {unknown...}} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local unknown = unknown_seats(3)
if #unknown > 0 then return {-2, unknown} end
local user = ARGV[1]
local tag = ARGV[2] .. ':' .. user
local g = get_group(user)
local valid = g ~= nil and tonumber(g.f) == tonumber(ARGV[2]) and tonumber(g.e) > now
local to_sell, selling = {}, {}
for i = 3, #ARGV do
  local s = ARGV[i]
  local sold = redis.call('HGET', K_SOLD, s)
  if sold then
    if sold ~= tag then return {-5} end
  elseif not selling[s] then
    if not valid or holder_of(s) ~= user then return {-5} end
    selling[s] = true
    to_sell[#to_sell + 1] = s
  end
end
for _, s in ipairs(to_sell) do
  del_holder(s)
  redis.call('HSET', K_SOLD, s, tag)
  changed(s, 'sold')
end
if #to_sell > 0 then drop_from_group(user, selling) else redis.call('HSET', K_SOLD, ARGV[3], tag) end
return logged({1, to_sell})
