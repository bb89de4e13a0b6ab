-- session/prelude.lua: prepended to every session script (lua/session/*.lua) when it is loaded: one clock
-- reading, the liveness helpers and the attach. K_USER is the user's hash `<prefix>{u:<id>}`: KEYS[1], or in
-- attach-sockets.lua (many users) each one's in turn. One listpack holds the session and the marks that
-- outlive it (issue 15: one key per user instead of three):
--   `x` the session's expiry (epoch ms): the session lives while x > now; the key itself lives on (its TTL
--       is the longest of the session's, the seen mark's and the index's, and only ever grows)
--   `s<socketId>` -> nodeId per socket, `r<room>` -> '' per room: the session's own fields, meaningful
--       while it lives; those of a session that ended are dropped when it starts again (and `c`, the
--       createdAt nothing read, of hashes written before issue 15's round 2)
--   `n` -> 1 the seen mark (attach-socket.lua), `e<eventId>` -> '' the claim store's index
--       (claims-index-add.lua): not the session's, kept whether it lives or not
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
-- Not a constant: attach-sockets.lua sets it to each user's hash in turn, and every helper below follows.
local K_USER = KEYS[1]

local function alive()
  return tonumber(redis.call('HGET', K_USER, 'x') or '0') > now
end

-- Whether a field is the session's own (dropped with an ended session), by its first letter.
local function own_field(f)
  local kind = string.sub(f, 1, 1)
  return kind == 'c' or kind == 's' or kind == 'r'
end

-- Drops the own fields of a session that ended (from `fields`, the hash's field names).
local function drop_ended(fields)
  local gone = {}
  for _, f in ipairs(fields) do
    if own_field(f) then gone[#gone + 1] = f end
  end
  for i = 1, #gone, 1000 do
    redis.call('HDEL', K_USER, unpack(gone, i, math.min(i + 999, #gone)))
  end
end

-- Extends the key's lifetime to at least ms from now (never shortens it: it also carries the marks).
local function keep_for(ms)
  if redis.call('PTTL', K_USER) < ms then redis.call('PEXPIRE', K_USER, ms) end
end

-- Slides the session: it lives ttl ms from now.
local function slide(ttl)
  redis.call('HSET', K_USER, 'x', now + ttl)
  keep_for(ttl)
end

-- Records a socket in K_USER's session unless the user is at the connection limit, slides the session and
-- returns what to restore: the body of attach-socket.lua (whose header is the reference for the arguments
-- and the reply), shared with attach-sockets.lua. The limit check and the write happen in one script, so
-- concurrent attaches from any number of nodes can never exceed maxSockets ("check then create" race).
-- Re-attaching a socketId that is already recorded is not counted against the limit (idempotent retry).
local function attach_socket(k_revoked, socketId, nodeId, maxSockets, ttl, seenTtl, indexTtl, issuedAt)
  local revokedAt = redis.call('GET', k_revoked)
  if revokedAt and issuedAt <= tonumber(revokedAt) then
    return {-1, tonumber(revokedAt)}
  end

  local fields = redis.call('HKEYS', K_USER)
  local lives = alive()
  local socket = 's' .. socketId
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
  if not known and live >= maxSockets then
    return {0, live}
  end

  local returnedAfterExpiry = 0
  if not lives then
    if seen then returnedAfterExpiry = 1 end
    drop_ended(fields)
  end
  redis.call('HSET', K_USER, socket, nodeId, 'n', 1)
  slide(ttl)
  -- The seen mark's lifetime, or the index's when it names events and lives longer.
  local keep = seenTtl
  if #events > 0 and indexTtl > keep then keep = indexTtl end
  keep_for(keep)
  if indexTtl == 0 then events = {} end
  return {1, lives and 1 or 0, now + ttl, rooms, returnedAfterExpiry, events}
end
