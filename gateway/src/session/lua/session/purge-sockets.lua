-- purge-sockets.lua: ioredis command `purgeSockets`. Removes the listed sockets of one user, but only
-- those still recorded on the given node: safe to run twice, from two purging nodes at once, or after
-- the socket moved. When anything was removed from a live session, it slides (the user just lost
-- those connections and gets a full TTL to come back).
-- KEYS[1] the user's hash (session and marks: see prelude.lua)
-- ARGV[1] nodeId   ARGV[2] ttlMs   ARGV[3..n] socketIds
-- Reply: the number of sockets removed (0 when no session lives: an ended session's fields go when it starts again).
if not alive() then return 0 end
local removed = 0
for i = 3, #ARGV do
  local socket = 's' .. ARGV[i]
  if redis.call('HGET', K_USER, socket) == ARGV[1] then
    redis.call('HDEL', K_USER, socket)
    removed = removed + 1
  end
end
if removed > 0 then
  slide(tonumber(ARGV[2]))
end
return removed
