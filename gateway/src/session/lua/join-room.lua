-- join-room.lua: ioredis command `joinRoom`. Adds a room and slides the TTL. A join comes from a live
-- socket, so a session that expired under it is created again (createdAt now).
-- KEYS[1] session hash   KEYS[2] sockets hash   KEYS[3] rooms set
-- ARGV[1] room   ARGV[2] ttlMs   ARGV[3] maxRooms (the check and the add are one atomic step)
-- Reply: {changed (1 when the room was added, 0 when already in), expiresAt (epoch ms), {room...}}
--        or {-1, roomCount} when the user is in maxRooms rooms already (nothing changed)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])

if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then
  local count = redis.call('SCARD', KEYS[3])
  if count >= tonumber(ARGV[3]) then
    return {-1, count}
  end
end
local changed = redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSETNX', KEYS[1], 'createdAt', now)
redis.call('HSET', KEYS[1], 'lastSeen', now)
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return {changed, now + ttl, redis.call('SMEMBERS', KEYS[3])}
