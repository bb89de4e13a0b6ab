-- session/prelude.lua: prepended to every session script (lua/session/*.lua) when it is loaded: one clock
-- reading and the liveness helpers. KEYS[1] is always the user's hash `<prefix>{u:<id>}`, one listpack that
-- holds the session and the marks that outlive it (issue 15: one key per user instead of three):
--   `x` the session's expiry (epoch ms): the session lives while x > now; the key itself lives on (its TTL
--       is the longest of the session's, the seen mark's and the index's, and only ever grows)
--   `s<socketId>` -> nodeId per socket, `r<room>` -> '' per room: the session's own fields, meaningful
--       while it lives; those of a session that ended are dropped when it starts again (and `c`, the
--       createdAt nothing read, of hashes written before issue 15's round 2)
--   `n` -> 1 the seen mark (attach-socket.lua), `e<eventId>` -> '' the claim store's index
--       (claims-index-add.lua): not the session's, kept whether it lives or not
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
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
