-- sweep-holds.lua: ioredis command `sweepHolds`. Takes the members whose time has come (at most `limit`),
-- ends those of their hold groups whose expiry has passed, forgets lapsed admissions, and lists those members
-- for their session check, in one step (a member's time is its hold expiry or its check, the earlier:
-- prelude.lua). Idempotent: two nodes sweeping at once end each group once, and only the one that ended it
-- reports it (so the owner is told once). Then tells the event's next due time (prelude.lua's with_due):
-- always with `force` (the sweeper's full walk repairs the global index with it), else when it moved.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] limit   ARGV[2] force 0|1
-- Reply: {1, {ownerUserId, {freedSeat...}, ...}, {dueMember...}[, {due, dueSeq}]} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', K_ADMITTED, '-inf', now)
local lapsed = {}
local members = due_members(limit)
for _, user in ipairs(members) do
  local g = get_group(user)
  if g and tonumber(g.e) <= now then
    lapsed[#lapsed + 1] = user
    lapsed[#lapsed + 1] = end_group(user)
  end
end
return logged(with_due({1, lapsed, members}, ARGV[2] == '1'))
