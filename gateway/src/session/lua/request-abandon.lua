-- request-abandon.lua: ioredis command `requestAbandon`. Forgets an in-flight marker (never a recorded ack),
-- in the user's record list or in its own key (see request-begin.lua for the layout).
-- KEYS[1] the user's record list   KEYS[2] the per-request key (both in the user's hash tag)
-- ARGV[1] requestId
-- Reply: 1 when the marker was removed, else 0
-- An id of 32 lowercase hex digits (what the SDK makes) is kept as its 16 bytes after a NUL byte, which no
-- other id can start with (ids are printable): 15 bytes fewer per entry.
local id = ARGV[1]
if #id == 32 and not string.find(id, '[^0-9a-f]') then
  id = '\0' .. string.gsub(id, '..', function(h) return string.char(tonumber(h, 16)) end)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local raw = redis.call('GET', KEYS[1])
if raw then
  local all = cmsgpack.unpack(raw)
  local list, found, last = {}, false, now
  for i = 1, #all, 3 do
    if all[i] == id and all[i + 2] == 'pending' then
      found = true
    elseif all[i + 1] > now then
      list[#list + 1], list[#list + 2], list[#list + 3] = all[i], all[i + 1], all[i + 2]
      if all[i + 1] > last then last = all[i + 1] end
    end
  end
  if found then
    if #list == 0 then
      redis.call('DEL', KEYS[1])
    else
      redis.call('SET', KEYS[1], cmsgpack.pack(list), 'PX', math.max(1, last - now))
    end
    return 1
  end
end
if redis.call('GET', KEYS[2]) == 'pending' then return redis.call('DEL', KEYS[2]) end
return 0
