-- leave-room.lua: ioredis command `leaveRoom`. Removes a room and slides the session. A leave comes from a
-- live socket, so a session that ended under it starts again, like join-room.lua.
-- KEYS[1] the user's hash (session and marks: see prelude.lua)
-- ARGV[1] room   ARGV[2] ttlMs
-- Reply: {changed (1 when the room was removed, 0 when not in it), expiresAt (epoch ms), {room...}}
local ttl = tonumber(ARGV[2])
local changed = 0
if alive() then
  changed = redis.call('HDEL', K_USER, 'r' .. ARGV[1])
else
  drop_ended(redis.call('HKEYS', K_USER))
end
slide(ttl)
local rooms = {}
for _, f in ipairs(redis.call('HKEYS', K_USER)) do
  if string.sub(f, 1, 1) == 'r' then rooms[#rooms + 1] = string.sub(f, 2) end
end
return {changed, now + ttl, rooms}
