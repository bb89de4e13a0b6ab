-- seat-release.lua: ioredis command `seatRelease`. Releases seats the user holds. All-or-nothing: a seat
-- held by someone else or sold refuses the whole call; a seat already free is ignored (idempotent retry).
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] userId   ARGV[2..] seat ids
-- Reply: {1, {released...}} | {-3, {forbidden...}} | {-2, {unknown...}} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local unknown = unknown_seats(2)
if #unknown > 0 then return {-2, unknown} end
local user = ARGV[1]
local forbidden = {}
for i = 2, #ARGV do
  local h = holder_of(ARGV[i])
  if redis.call('HEXISTS', K_SOLD, ARGV[i]) == 1 or (h and h ~= user) then forbidden[#forbidden + 1] = ARGV[i] end
end
if #forbidden > 0 then return {-3, forbidden} end
local released, gone = {}, {}
for i = 2, #ARGV do
  if holder_of(ARGV[i]) == user then
    del_holder(ARGV[i])
    released[#released + 1] = ARGV[i]
    gone[ARGV[i]] = true
    changed(ARGV[i], 'free')
  end
end
drop_from_group(user, gone)
return logged({1, released})
