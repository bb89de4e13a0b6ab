-- queue-admit.lua: ioredis command `queueAdmit`. Admits the first users of the queue, in order:
-- `count` of them (service call), or as many as the event's rate allows since the last admission (count
-- -1; every node may call it every tick: the rate bookkeeping is in the script, so nodes never add up).
-- At most one second of unused rate is carried over, or one admission's worth (1/rate seconds) when the
-- rate is below one per second: a one-second window would never reach one admission at 0.5/s.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] count (-1: by rate)   ARGV[2] admission ttlMs   ARGV[3] max users per call
-- Reply: {1, admissionExpiresAt, userId...} (in queue order; none when nobody is due) | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
redis.call('ZREMRANGEBYSCORE', K_ADMITTED, '-inf', now)
local n = tonumber(ARGV[1])
local cap = tonumber(ARGV[3])
local expires = now + tonumber(ARGV[2])
if n < 0 then
  local rate = tonumber(redis.call('HGET', K_DEF, 'rate') or '0')
  if rate <= 0 then return {1, expires} end
  if redis.call('ZCARD', K_QUEUE) == 0 then
    redis.call('HSET', K_DEF, 'lastAdmitAt', now)
    return {1, expires}
  end
  local last = tonumber(redis.call('HGET', K_DEF, 'lastAdmitAt') or '0')
  local window = 1000
  if rate < 1 then window = 1000 / rate end
  if last < now - window then last = now - window end
  n = math.floor((now - last) * rate / 1000)
  if n > cap then n = cap end
  if n < 1 then return {1, expires} end
  redis.call('HSET', K_DEF, 'lastAdmitAt', tostring(last + n * 1000 / rate))
end
if n > cap then n = cap end
local out = {1, expires}
if n < 1 then return out end
local popped = redis.call('ZPOPMIN', K_QUEUE, n)
for i = 1, #popped, 2 do
  redis.call('ZADD', K_ADMITTED, expires, popped[i])
  out[#out + 1] = popped[i]
end
return out
