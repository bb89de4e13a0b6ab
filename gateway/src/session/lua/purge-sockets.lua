-- purge-sockets.lua: ioredis command `purgeSockets`. Removes the listed sockets of one user, but only
-- those still recorded on the given node: safe to run twice, from two purging nodes at once, or after
-- the socket moved. When anything was removed from a live session, its TTL slides (the user just lost
-- those connections and gets a full TTL to come back).
-- KEYS[1] the session hash (fields `c`, `s<socketId>` -> nodeId, `r<room>`: see attach-socket.lua)
-- ARGV[1] nodeId   ARGV[2] ttlMs   ARGV[3..n] socketIds
-- Reply: the number of sockets removed.
local removed = 0
for i = 3, #ARGV do
  local socket = 's' .. ARGV[i]
  if redis.call('HGET', KEYS[1], socket) == ARGV[1] then
    redis.call('HDEL', KEYS[1], socket)
    removed = removed + 1
  end
end
if removed > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return removed
