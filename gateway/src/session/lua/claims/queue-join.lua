-- queue-join.lua: ioredis command `queueJoin`. Puts the user at the end of the event's queue, or
-- answers their current place (joining twice is idempotent). Positions are ZRANK + 1: exact and gap-free.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] userId   ARGV[2] checkMs (when to first check the user's session)
-- Reply: {1, position, size[, {due, dueSeq}]} | {0, admissionExpiresAt, size} when already admitted
--      | {-1} unknown event   ({due, dueSeq}: the event's next sweep moved earlier, see prelude.lua's with_due)
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local user = ARGV[1]
local admitted = redis.call('ZSCORE', K_ADMITTED, user)
if admitted and tonumber(admitted) > now then
  return {0, tonumber(admitted), redis.call('ZCARD', K_QUEUE)}
end
if not redis.call('ZSCORE', K_QUEUE, user) then
  redis.call('ZADD', K_QUEUE, redis.call('INCR', K_QSEQ), user)
  add_member(user, tonumber(ARGV[2]))
end
return with_due({1, redis.call('ZRANK', K_QUEUE, user) + 1, redis.call('ZCARD', K_QUEUE)}, false)
