-- purge-sockets.lua: ioredis command `purgeSockets`. Removes the listed sockets of one user, but only
-- those still recorded on the given node: safe to run twice, from two purging nodes at once, or after
-- the socket moved. When anything was removed from a live session, its TTL slides (the user just lost
-- those connections and gets a full TTL to come back).
-- KEYS[1] session hash   KEYS[2] sockets hash socketId -> nodeId   KEYS[3] rooms set
-- ARGV[1] nodeId   ARGV[2] ttlMs   ARGV[3..n] socketIds
-- Reply: the number of sockets removed.
local removed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('HDEL', KEYS[2], ARGV[i])
    removed = removed + 1
  end
end
if removed > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 1, 3 do
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]))
  end
end
return removed
