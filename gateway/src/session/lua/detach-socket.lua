-- detach-socket.lua: ioredis command `detachSocket`. Removes one socket from the user's map and slides
-- the TTL, so the session lives a full TTL from now. Idempotent; never creates a session.
-- KEYS[1] session hash   KEYS[2] sockets hash socketId -> nodeId   KEYS[3] rooms set
-- ARGV[1] socketId   ARGV[2] ttlMs
-- Reply: the nodeId the socket was recorded on (so the caller can clean that node's index), or nil.
local node = redis.call('HGET', KEYS[2], ARGV[1])
if node then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'lastSeen', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  for i = 1, 3 do
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]))
  end
end
return node
