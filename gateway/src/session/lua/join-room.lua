-- join-room.lua: ioredis command `joinRoom`. Adds a room and slides the TTL. A join comes from a live
-- socket, so a session that expired under it is created again (createdAt now).
-- KEYS[1] the session hash (fields `c`, `s<socketId>` -> nodeId, `r<room>`: see attach-socket.lua)
-- ARGV[1] room   ARGV[2] ttlMs   ARGV[3] maxRooms (the check and the add are one atomic step)
-- Reply: {changed (1 when the room was added, 0 when already in), expiresAt (epoch ms), {room...}}
--        or {-1, roomCount} when the user is in maxRooms rooms already (nothing changed)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local room = 'r' .. ARGV[1]

local rooms, known = {}, false
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 1) == 'r' then
    rooms[#rooms + 1] = string.sub(f, 2)
    if f == room then known = true end
  end
end
local changed = 0
if not known then
  if #rooms >= tonumber(ARGV[3]) then
    return {-1, #rooms}
  end
  redis.call('HSET', KEYS[1], room, '')
  rooms[#rooms + 1] = ARGV[1]
  changed = 1
end
redis.call('HSETNX', KEYS[1], 'c', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return {changed, now + ttl, rooms}
