-- claims-index-drop.lua: ioredis command `claimsIndexDrop`. Takes events out of the user's queue/hold index
-- (stale entries found by a restore), or every event (the user's session ended); nothing else of the hash.
-- KEYS[1] the user's hash (`e<eventId>` -> '' per indexed event, besides the session and the seen mark: see
--         lua/session/prelude.lua)
-- ARGV[1..] eventIds (none: all of them)
-- Reply: the number of entries removed
local fields = {}
if #ARGV == 0 then
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 1) == 'e' then fields[#fields + 1] = f end
  end
else
  for i = 1, #ARGV do fields[i] = 'e' .. ARGV[i] end
end
if #fields == 0 then return 0 end
return redis.call('HDEL', KEYS[1], unpack(fields))
