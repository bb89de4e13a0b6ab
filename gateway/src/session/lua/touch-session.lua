-- touch-session.lua: ioredis command `touchSession`. Slides the TTL of an existing session (activity);
-- a user without a session is left alone (touch never creates one).
-- KEYS[1] session hash   KEYS[2] sockets hash   KEYS[3] rooms set
-- ARGV[1] ttlMs
-- Reply: 1 when the session existed and was extended, 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'lastSeen', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[1]))
end
return 1
