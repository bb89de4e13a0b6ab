-- join-room.lua: ioredis command `joinRoom`. Adds a room and slides the session. A join comes from a live
-- socket, so a session that ended under it starts again (without the ended session's fields).
-- KEYS[1] the user's hash (session and marks: see prelude.lua)
-- ARGV[1] room   ARGV[2] ttlMs   ARGV[3] maxRooms (the check and the add are one atomic step)
-- Reply: {changed (1 when the room was added, 0 when already in), expiresAt (epoch ms), {room...}}
--        or {-1, roomCount} when the user is in maxRooms rooms already (nothing changed)
local ttl = tonumber(ARGV[2])
local room = 'r' .. ARGV[1]
local fields = redis.call('HKEYS', K_USER)
local lives = alive()

local rooms, known = {}, false
if lives then
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 1) == 'r' then
      rooms[#rooms + 1] = string.sub(f, 2)
      if f == room then known = true end
    end
  end
end
local changed = 0
if not known then
  if #rooms >= tonumber(ARGV[3]) then
    return {-1, #rooms}
  end
  changed = 1
end
if not lives then drop_ended(fields) end
if changed == 1 then
  redis.call('HSET', K_USER, room, '')
  rooms[#rooms + 1] = ARGV[1]
end
slide(ttl)
return {changed, now + ttl, rooms}
