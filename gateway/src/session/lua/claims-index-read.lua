-- claims-index-read.lua: ioredis command `claimsIndexRead`. Lists the events of the user's queue/hold index
-- and extends the index's lifetime (a restore or a session check reads it: it must outlive what it names).
-- KEYS[1] the user's hash (`e<eventId>` -> '' per indexed event, besides the session and the seen mark: see
--         lua/session/prelude.lua)
-- ARGV[1] index ttl ms
-- Reply: {eventId...}
local events = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 1) == 'e' then events[#events + 1] = string.sub(f, 2) end
end
if #events > 0 and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return events
