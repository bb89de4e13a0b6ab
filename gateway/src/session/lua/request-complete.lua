-- request-complete.lua: ioredis command `requestComplete`. Records a request's answer in the user's record
-- list (see request-begin.lua for the layout), replacing its in-flight marker, for ttlMs. An answer longer
-- than VALUE_MAX bytes, or one that finds the list full, takes the per-request key instead, so the list stays
-- small (it is rewritten whole on every write).
-- KEYS[1] the user's record list   KEYS[2] the per-request key (both in the user's hash tag)
-- ARGV[1] requestId   ARGV[2] the entry (`<event>\n<ack>` or JSON)   ARGV[3] ttlMs
-- Reply: 1
-- An id of 32 lowercase hex digits (what the SDK makes) is kept as its 16 bytes after a NUL byte, which no
-- other id can start with (ids are printable): 15 bytes fewer per entry.
local id = ARGV[1]
if #id == 32 and not string.find(id, '[^0-9a-f]') then
  id = '\0' .. string.gsub(id, '..', function(h) return string.char(tonumber(h, 16)) end)
end
local RECORDS_MAX, VALUE_MAX = 16, 512
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[3])
local raw = redis.call('GET', KEYS[1])
local list, found = {}, false
if raw then
  local all = cmsgpack.unpack(raw)
  for i = 1, #all, 3 do
    if all[i] == id then
      found = true
    elseif all[i + 1] > now then
      list[#list + 1], list[#list + 2], list[#list + 3] = all[i], all[i + 1], all[i + 2]
    end
  end
end
local inList = #ARGV[2] <= VALUE_MAX and #list < RECORDS_MAX * 3
if inList then
  list[#list + 1], list[#list + 2], list[#list + 3] = id, now + ms, ARGV[2]
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ms)
end
if inList or found then
  if #list == 0 then
    redis.call('DEL', KEYS[1])
  else
    local last = now
    for i = 2, #list, 3 do
      if list[i] > last then last = list[i] end
    end
    redis.call('SET', KEYS[1], cmsgpack.pack(list), 'PX', math.max(1, last - now))
  end
end
return 1
