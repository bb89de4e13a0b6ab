-- sweep-holds.lua: ioredis command `sweepHolds`. Ends hold groups whose expiry has passed (at most
-- `limit` per call), forgets lapsed admissions, and lists the members whose session check is due (at most
-- `limit`), in one step. Idempotent: two nodes sweeping at once end each group once, and only the one that
-- ended it reports it (so the owner is told once). Then tells the event's next due time (prelude.lua's
-- with_due): always with `force` (the sweeper's full walk repairs the global index with it), else when it moved.
-- KEYS: the thirteen event keys (see prelude.lua)
-- ARGV[1] limit   ARGV[2] force 0|1
-- Reply: {1, {ownerUserId, {freedSeat...}, ...}, {dueMember...}[, {due, dueSeq}]} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', K_ADMITTED, '-inf', now)
local lapsed = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', K_GEXP, '-inf', now, 'LIMIT', 0, limit)) do
  lapsed[#lapsed + 1] = user
  lapsed[#lapsed + 1] = end_group(user)
end
local members = redis.call('ZRANGEBYSCORE', K_MEMBERS, '-inf', now, 'LIMIT', 0, limit)
return logged(with_due({1, lapsed, members}, ARGV[2] == '1'))
