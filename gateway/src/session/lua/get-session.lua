-- get-session.lua: ioredis command `getSession`. Reads one user's whole session in one consistent step.
-- KEYS[1] the session hash (fields `c`, `s<socketId>` -> nodeId, `r<room>`: see attach-socket.lua)
-- ARGV: none
-- Reply: nil when there is no session, else {expiresAt (epoch ms), {socketId, nodeId, ...}, {room...}}.
local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sockets, rooms = {}, {}
for i = 1, #all, 2 do
  local kind = string.sub(all[i], 1, 1)
  if kind == 's' then
    sockets[#sockets + 1] = string.sub(all[i], 2)
    sockets[#sockets + 1] = all[i + 1]
  elseif kind == 'r' then
    rooms[#rooms + 1] = string.sub(all[i], 2)
  end
end
return {now + redis.call('PTTL', KEYS[1]), sockets, rooms}
