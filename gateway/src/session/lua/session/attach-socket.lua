-- attach-socket.lua: ioredis command `attachSocket`. Records a socket unless the user is at the connection
-- limit, slides the session and returns what to restore. The limit check and the write happen in one script,
-- so concurrent attaches from any number of nodes can never exceed maxSockets ("check then create" race).
-- KEYS[1] the user's hash (session and marks: see prelude.lua); read whole here, so a restore needs no other
--         trip for the rooms, the seen mark or the queue/hold index
-- KEYS[2] the user's token revocation (string: epoch second, see revoke-tokens.lua), read here so the
--         revocation check costs no other trip
-- ARGV[1] socketId   ARGV[2] nodeId   ARGV[3] maxSockets   ARGV[4] ttlMs   ARGV[5] seenTtlMs
-- ARGV[6] claims index TTL in ms (0: do not read the index)
-- ARGV[7] the connecting token's issue time, whole epoch seconds (Principal.issuedAtSeconds)
-- Reply: {1, recovered (1 when the session lived), expiresAt (epoch ms), {room...},
--         returnedAfterExpiry (1 when no session lives but the seen mark is there), {eventId...}}
--     or {-1, revokedAt} when the token was issued at or before the user's revocation (nothing written;
--         checked first: the same rule as isRevokedBy in session-store.ts)
--     or {0, liveSockets} when refused by the limit (nothing written).
-- Re-attaching a socketId that is already recorded is not counted against the limit (idempotent retry).
local revokedAt = redis.call('GET', KEYS[2])
if revokedAt and tonumber(ARGV[7]) <= tonumber(revokedAt) then
  return {-1, tonumber(revokedAt)}
end

local ttl = tonumber(ARGV[4])
local fields = redis.call('HKEYS', K_USER)
local lives = alive()
local socket = 's' .. ARGV[1]
local live, rooms, known, seen, events = 0, {}, false, false, {}
for _, f in ipairs(fields) do
  local kind = string.sub(f, 1, 1)
  if kind == 's' and lives then
    live = live + 1
    if f == socket then known = true end
  elseif kind == 'r' and lives then
    rooms[#rooms + 1] = string.sub(f, 2)
  elseif kind == 'n' then
    seen = true
  elseif kind == 'e' then
    events[#events + 1] = string.sub(f, 2)
  end
end
if not known and live >= tonumber(ARGV[3]) then
  return {0, live}
end

local returnedAfterExpiry = 0
if not lives then
  if seen then returnedAfterExpiry = 1 end
  drop_ended(fields)
end
redis.call('HSET', K_USER, socket, ARGV[2], 'n', 1)
slide(ttl)
-- The seen mark's lifetime, or the index's when it names events and lives longer.
local indexTtl = tonumber(ARGV[6])
local keep = tonumber(ARGV[5])
if #events > 0 and indexTtl > keep then keep = indexTtl end
keep_for(keep)
if indexTtl == 0 then events = {} end
return {1, lives and 1 or 0, now + ttl, rooms, returnedAfterExpiry, events}
