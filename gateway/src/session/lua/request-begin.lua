-- request-begin.lua: ioredis command `requestBegin`. Starts a request of the request ledger: sets the
-- in-flight marker unless an entry exists (SET NX semantics: of two racing identical requests exactly one
-- sets it), else answers the entry, in one step (no "just expired between SET and GET" window).
-- The user's entries live in one string, the user's record list (issue 15: one key per user instead of one
-- per request): cmsgpack of a flat array {requestId, expiresAt ms, value, ...}, each entry with its own
-- expiry, expired ones dropped whenever the list is written; the key's TTL is its latest entry's. When
-- the list is full (RECORDS_MAX live entries) an entry takes a key of its own, the per-request key, as
-- entries were before (still read, so entries written before this layout keep answering).
-- KEYS[1] the user's record list   KEYS[2] the per-request key (both in the user's hash tag)
-- ARGV[1] requestId   ARGV[2] how long the marker lives (ms)
-- Values: 'pending', or `<event>\n<ack>` / JSON {event, ack} (see redis-request-ledger.ts)
-- Reply: {1} the marker was set (the caller owns the request) | {0, entry}
-- An id of 32 lowercase hex digits (what the SDK makes) is kept as its 16 bytes after a NUL byte, which no
-- other id can start with (ids are printable): 15 bytes fewer per entry.
local id = ARGV[1]
if #id == 32 and not string.find(id, '[^0-9a-f]') then
  id = '\0' .. string.gsub(id, '..', function(h) return string.char(tonumber(h, 16)) end)
end
local RECORDS_MAX = 16
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local raw = redis.call('GET', KEYS[1])
local list, live = {}, 0
if raw then
  local all = cmsgpack.unpack(raw)
  for i = 1, #all, 3 do
    if all[i + 1] > now then
      if all[i] == id then return {0, all[i + 2]} end
      list[#list + 1], list[#list + 2], list[#list + 3] = all[i], all[i + 1], all[i + 2]
      live = live + 1
    end
  end
end
local own = redis.call('GET', KEYS[2])
if own then return {0, own} end
local ms = tonumber(ARGV[2])
if live >= RECORDS_MAX then
  redis.call('SET', KEYS[2], 'pending', 'PX', ms)
  return {1}
end
list[#list + 1], list[#list + 2], list[#list + 3] = id, now + ms, 'pending'
local last = now + ms
for i = 2, #list, 3 do
  if list[i] > last then last = list[i] end
end
redis.call('SET', KEYS[1], cmsgpack.pack(list), 'PX', last - now)
return {1}
