-- settle-members.lua: ioredis command `settleMembers`. Applies the result of a session check of some members
-- (read by the caller from the users' own slots): a user whose session ended loses their queue place,
-- admission and holds; a live user with nothing left here is forgotten, else looked at again in checkMs
-- (or at their hold's expiry, when earlier).
-- A user's seat:hold records (prelude.lua's load_records) live their own time, session or not: expired ones
-- are dropped here, and a user with live ones stays a member (checked again) until they expire.
-- Idempotent: a user already dropped is reported with nothing freed. Then tells the event's next due time
-- when it moved (prelude.lua's with_due).
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] checkMs   ARGV[2..] pairs userId, alive (1|0)
-- Reply: {{droppedUserId, wasQueued 0|1, {freedSeat...}, ...}[, {due, dueSeq}]} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local check_ms = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 2 do
  local user = ARGV[i]
  local records, expired = load_records(user)
  if expired then save_records(user, records) end
  if ARGV[i + 1] == '1' then
    local admitted = redis.call('ZSCORE', K_ADMITTED, user)
    local has = redis.call('ZSCORE', K_QUEUE, user) or redis.call('HEXISTS', bucket_key(K_GROUPS, user), user) == 1
      or (admitted and tonumber(admitted) > now) or #records > 0
    if has then
      -- The next check, or the hold's expiry when that comes first (prelude.lua's put_group).
      local at, g = now + check_ms, get_group(user)
      if g and tonumber(g.e) < at then at = tonumber(g.e) end
      member_set(user, at, 'XX')
    else
      member_del(user)
    end
  else
    if member_del(user) == 1 then
      local queued = redis.call('ZREM', K_QUEUE, user)
      redis.call('ZREM', K_ADMITTED, user)
      out[#out + 1] = user
      out[#out + 1] = queued
      out[#out + 1] = end_group(user)
    end
    if #records > 0 then member_set(user, now + check_ms, nil) end
  end
end
return logged(with_due({out}, false))
