-- due-index-set.lua: ioredis command `dueIndexSet`. Copies one event's next sweep time into the global due
-- index (the sweeper reads the events whose time has come), in seq order: a write older than the one the
-- index has is ignored, so racing writers (a hold on one node, the sweeper on another) converge to the
-- event's latest decision (see claims/prelude.lua's with_due). Both keys share the `{events}` hash tag.
-- KEYS[1] due index (sorted set eventId -> due ms)   KEYS[2] seqs (hash eventId -> seq of the last write)
-- ARGV[1] eventId   ARGV[2] due ms ('' = nothing due: leave the index)   ARGV[3] seq ('' = forget the event)
-- Reply: 1 applied | 0 older than what the index has
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if seen and tonumber(seen) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return 1
