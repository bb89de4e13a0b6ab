-- queue-leave.lua: ioredis command `queueLeave`. Takes the user out of the queue and gives up an
-- admission not yet used. Idempotent.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] userId
-- Reply: {1, left 0|1, size} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local left = redis.call('ZREM', K_QUEUE, ARGV[1]) + redis.call('ZREM', K_ADMITTED, ARGV[1])
return {1, left > 0 and 1 or 0, redis.call('ZCARD', K_QUEUE)}
