-- attach-sockets.lua: ioredis command `attachSockets`. The attaches of one turn of a node's event loop, on a
-- single Redis (standalone or Sentinel; never on Cluster, where the users' keys live on different shards and
-- the store sends attach-socket.lua per user instead): each as attach-socket.lua does it (attach_socket in
-- prelude.lua), with its socket's node-index entry written first in the same step and taken back if the
-- attach is refused, so a dead node's purge finds every recorded socket (redis-session-store.ts). In an
-- on-sale herd a node attaches tens to hundreds of sockets per turn: one command for all of them instead of
-- one each and an index write (redis/attach-batches.ts).
-- KEYS    per attach, three: the user's hash, the user's token revocation, the node-index bucket of the entry
-- ARGV[1] nodeId   ARGV[2] ttlMs   ARGV[3] seenTtlMs   ARGV[4] claims index TTL in ms (0: do not read the index)
-- then per attach, four: socketId, maxSockets, the token's issue time (whole epoch seconds), the node-index
--         entry
-- Reply: per attach in order, attach-socket.lua's reply, or {-2, message} when Redis refused one of its
--        commands (a key of the wrong type, out of memory, a read-only replica): that attach may be partly
--        written, its index entry with it, like a failed attach-socket.lua; the others are unaffected
local nodeId, ttl, seenTtl, indexTtl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local function attach_indexed(k, a)
  local bucket, entry = KEYS[k + 2], ARGV[a + 3]
  local added = redis.call('HSET', bucket, entry, '')
  K_USER = KEYS[k]
  local reply = attach_socket(KEYS[k + 1], ARGV[a], nodeId, tonumber(ARGV[a + 1]), ttl, seenTtl, indexTtl,
    tonumber(ARGV[a + 2]))
  -- Refused: nothing was recorded, so the entry goes again (unless an earlier attach of the socket made it).
  if reply[1] ~= 1 and added == 1 then redis.call('HDEL', bucket, entry) end
  return reply
end

local replies = {}
for i = 1, #KEYS / 3 do
  local ok, reply = pcall(attach_indexed, 3 * i - 2, 4 * i + 1)
  if not ok then reply = {-2, type(reply) == 'table' and reply.err or tostring(reply)} end
  replies[i] = reply
end
return replies
