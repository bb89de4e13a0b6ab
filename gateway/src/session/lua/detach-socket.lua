-- detach-socket.lua: ioredis command `detachSocket`. Removes one socket from the user's session and slides
-- the TTL, so the session lives a full TTL from now. Idempotent; never creates a session.
-- KEYS[1] the session hash (fields `c`, `s<socketId>` -> nodeId, `r<room>`: see attach-socket.lua)
-- ARGV[1] socketId   ARGV[2] ttlMs
-- Reply: the nodeId the socket was recorded on (so the caller can clean that node's index), or nil.
local socket = 's' .. ARGV[1]
local node = redis.call('HGET', KEYS[1], socket)
if node then
  redis.call('HDEL', KEYS[1], socket)
end
-- `c` stays, so the session outlives its last socket (for its TTL).
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return node
