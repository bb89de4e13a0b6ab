-- leave-room.lua: ioredis command `leaveRoom`. Removes a room and slides the TTL. A leave comes from a
-- live socket, so a session that expired under it is created again (createdAt now), like join-room.lua.
-- KEYS[1] the session hash (fields `c`, `s<socketId>` -> nodeId, `r<room>`: see attach-socket.lua)
-- ARGV[1] room   ARGV[2] ttlMs
-- Reply: {changed (1 when the room was removed, 0 when not in it), expiresAt (epoch ms), {room...}}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])

local changed = redis.call('HDEL', KEYS[1], 'r' .. ARGV[1])
redis.call('HSETNX', KEYS[1], 'c', now)
redis.call('PEXPIRE', KEYS[1], ttl)
local rooms = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 1) == 'r' then rooms[#rooms + 1] = string.sub(f, 2) end
end
return {changed, now + ttl, rooms}
