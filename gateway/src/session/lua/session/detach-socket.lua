-- detach-socket.lua: ioredis command `detachSocket`. Removes one socket from the user's live session and
-- slides it, so the session lives a full TTL from now. Idempotent; never starts a session.
-- KEYS[1] the user's hash (session and marks: see prelude.lua)
-- ARGV[1] socketId   ARGV[2] ttlMs
-- Reply: the nodeId the socket was recorded on (so the caller can clean that node's index), or nil.
if not alive() then return false end
local socket = 's' .. ARGV[1]
local node = redis.call('HGET', K_USER, socket)
if node then
  redis.call('HDEL', K_USER, socket)
end
-- `x` stays, so the session outlives its last socket (for its TTL).
slide(tonumber(ARGV[2]))
return node
