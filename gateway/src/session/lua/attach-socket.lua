-- attach-socket.lua: ioredis command `attachSocket`. Records a socket unless the user is at the connection
-- limit, slides the TTL and returns what to restore. The limit check and the write happen in one script,
-- so concurrent attaches from any number of nodes can never exceed maxSockets ("check then create" race).
-- KEYS[1] the session hash: its existence is "the session lives", its TTL the session's; fields `c` createdAt
--         (epoch ms, always there), `s<socketId>` -> nodeId per socket, `r<room>` -> '' per room (one small
--         hash, a listpack, instead of three keys: see docs/queue-and-seats.md, "Keys and scripts")
-- KEYS[2] the user's marks, one hash that outlives the session (see user-keys.ts): field `n` the seen mark
--         (the user had a session; kept seenTtlMs), fields `e<eventId>` the user's queue/hold index, read
--         here so a restore needs no other trip; the key's TTL only ever grows (the longer of the two)
-- KEYS[3] the user's token revocation (string: epoch second, see revoke-tokens.lua), read here so the
--         revocation check costs no other trip
-- ARGV[1] socketId   ARGV[2] nodeId   ARGV[3] maxSockets   ARGV[4] ttlMs   ARGV[5] seenTtlMs
-- ARGV[6] claims index TTL in ms (0: do not read the index)
-- ARGV[7] the connecting token's issue time, whole epoch seconds (Principal.issuedAtSeconds)
-- Reply: {1, recovered (1 when the session existed before), expiresAt (epoch ms), {room...},
--         returnedAfterExpiry (1 when no session exists but the seen marker does), {eventId...}}
--     or {-1, revokedAt} when the token was issued at or before the user's revocation (nothing written;
--         checked first: the same rule as isRevokedBy in session-store.ts)
--     or {0, liveSockets} when refused by the limit (nothing written).
-- Re-attaching a socketId that is already recorded is not counted against the limit (idempotent retry).
local revokedAt = redis.call('GET', KEYS[3])
if revokedAt and tonumber(ARGV[7]) <= tonumber(revokedAt) then
  return {-1, tonumber(revokedAt)}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
local fields = redis.call('HKEYS', KEYS[1])
local recovered = #fields > 0 and 1 or 0
local socket = 's' .. ARGV[1]
local live, rooms, known = 0, {}, false
for _, f in ipairs(fields) do
  local kind = string.sub(f, 1, 1)
  if kind == 's' then
    live = live + 1
    if f == socket then known = true end
  elseif kind == 'r' then
    rooms[#rooms + 1] = string.sub(f, 2)
  end
end
if not known and live >= tonumber(ARGV[3]) then
  return {0, live}
end

local returnedAfterExpiry = 0
if recovered == 0 and redis.call('HEXISTS', KEYS[2], 'n') == 1 then
  returnedAfterExpiry = 1
end
redis.call('HSET', KEYS[2], 'n', 1)
if recovered == 0 then
  redis.call('HSET', KEYS[1], 'c', now, socket, ARGV[2])
else
  redis.call('HSET', KEYS[1], socket, ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ttl)
local claimEvents = {}
local indexTtl = tonumber(ARGV[6])
if indexTtl > 0 then
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if string.sub(f, 1, 1) == 'e' then claimEvents[#claimEvents + 1] = string.sub(f, 2) end
  end
end
-- The seen mark's lifetime, or the index's when it names events and lives longer.
local keep = tonumber(ARGV[5])
if #claimEvents > 0 and indexTtl > keep then keep = indexTtl end
if redis.call('PTTL', KEYS[2]) < keep then redis.call('PEXPIRE', KEYS[2], keep) end
return {1, recovered, now + ttl, rooms, returnedAfterExpiry, claimEvents}
