-- get-session.lua: ioredis command `getSession`. Reads one user's whole session in one consistent step.
-- KEYS[1] session hash   KEYS[2] sockets hash socketId -> nodeId   KEYS[3] rooms set
-- ARGV: none
-- Reply: nil when there is no session, else {expiresAt (epoch ms), {socketId, nodeId, ...}, {room...}}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {now + redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('SMEMBERS', KEYS[3])}
