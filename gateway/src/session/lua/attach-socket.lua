-- attach-socket.lua: ioredis command `attachSocket`. Records a socket unless the user is at the connection
-- limit, slides the TTL and returns what to restore. The limit check and the write happen in one script,
-- so concurrent attaches from any number of nodes can never exceed maxSockets ("check then create" race).
-- KEYS[1] session hash {createdAt, lastSeen}   KEYS[2] sockets hash socketId -> nodeId   KEYS[3] rooms set
-- KEYS[4] seen marker (the user had a session; outlives it by SEEN_TTL)
-- KEYS[5] the user's queue/hold index (hash eventId -> 1), read here so a restore needs no other trip
-- KEYS[6] the user's token revocation (string: epoch second, see revoke-tokens.lua), read here so the
--         revocation check costs no other trip
-- ARGV[1] socketId   ARGV[2] nodeId   ARGV[3] maxSockets   ARGV[4] ttlMs   ARGV[5] seenTtlMs
-- ARGV[6] claims index TTL in ms (0: do not read or extend the index)
-- ARGV[7] the connecting token's issue time, whole epoch seconds (Principal.issuedAtSeconds)
-- Reply: {1, recovered (1 when the session existed before), expiresAt (epoch ms), {room...},
--         returnedAfterExpiry (1 when no session exists but the seen marker does), {eventId...}}
--     or {-1, revokedAt} when the token was issued at or before the user's revocation (nothing written;
--         checked first: the same rule as isRevokedBy in session-store.ts)
--     or {0, liveSockets} when refused by the limit (nothing written).
-- Re-attaching a socketId that is already recorded is not counted against the limit (idempotent retry).
local revokedAt = redis.call('GET', KEYS[6])
if revokedAt and tonumber(ARGV[7]) <= tonumber(revokedAt) then
  return {-1, tonumber(revokedAt)}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])

local recovered = redis.call('EXISTS', KEYS[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local live = redis.call('HLEN', KEYS[2])
  if live >= tonumber(ARGV[3]) then
    return {0, live}
  end
end

local returnedAfterExpiry = 0
if recovered == 0 and redis.call('EXISTS', KEYS[4]) == 1 then
  returnedAfterExpiry = 1
end
redis.call('SET', KEYS[4], now, 'PX', tonumber(ARGV[5]))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if recovered == 0 then
  redis.call('HSET', KEYS[1], 'createdAt', now)
end
redis.call('HSET', KEYS[1], 'lastSeen', now)
for i = 1, 3 do
  redis.call('PEXPIRE', KEYS[i], ttl)
end
local claimEvents = {}
local indexTtl = tonumber(ARGV[6])
if indexTtl > 0 then
  claimEvents = redis.call('HKEYS', KEYS[5])
  if #claimEvents > 0 then
    redis.call('PEXPIRE', KEYS[5], indexTtl)
  end
end
return {1, recovered, now + ttl, redis.call('SMEMBERS', KEYS[3]), returnedAfterExpiry, claimEvents}
