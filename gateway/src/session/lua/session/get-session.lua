-- get-session.lua: ioredis command `getSession`. Reads one user's whole session in one consistent step.
-- KEYS[1] the user's hash (session and marks: see prelude.lua)
-- ARGV: none
-- Reply: nil when no session lives, else {expiresAt (epoch ms), {socketId, nodeId, ...}, {room...}}.
local all = redis.call('HGETALL', K_USER)
local expires, sockets, rooms = 0, {}, {}
for i = 1, #all, 2 do
  local kind = string.sub(all[i], 1, 1)
  if kind == 's' then
    sockets[#sockets + 1] = string.sub(all[i], 2)
    sockets[#sockets + 1] = all[i + 1]
  elseif kind == 'r' then
    rooms[#rooms + 1] = string.sub(all[i], 2)
  elseif all[i] == 'x' then
    expires = tonumber(all[i + 1])
  end
end
if expires <= now then
  return false
end
return {expires, sockets, rooms}
