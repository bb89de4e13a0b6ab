-- attach-socket.lua: ioredis command `attachSocket`. Records a socket unless the user is at the connection
-- limit, slides the session and returns what to restore (attach_socket in prelude.lua; on a single Redis the
-- store sends a turn's attaches together, attach-sockets.lua, and this one on Redis Cluster).
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
return attach_socket(KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6]), tonumber(ARGV[7]))
