-- sweep-holds.lua: ioredis command `sweepHolds`. Ends hold groups whose expiry has passed (at most
-- `limit` per call) and forgets lapsed admissions. Idempotent: two nodes sweeping at once end each group
-- once, and only the one that ended it reports it (so the owner is told once).
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] limit
-- Reply: {ownerUserId, {freedSeat...}, ...}
redis.call('ZREMRANGEBYSCORE', K_ADMITTED, '-inf', now)
local out = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', K_GEXP, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))) do
  out[#out + 1] = user
  out[#out + 1] = end_group(user)
end
return logged(out)
