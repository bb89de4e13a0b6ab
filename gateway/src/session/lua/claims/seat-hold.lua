-- seat-hold.lua: ioredis command `claimHold`. All-or-nothing hold of seats for one user: either every
-- requested seat ends up held by the user (free ones taken, own ones kept) or nothing changes. A user's
-- holds on one event form one group with one fence and one expiry (set when the group starts; adding seats
-- does not extend it). Groups whose expiry passed but that the sweeper has not ended yet are ended here
-- first (and reported as lapsed), so the answer never depends on sweep timing.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] userId   ARGV[2] admitted (1 when the request carried a valid admission token)   ARGV[3] checkMs
-- ARGV[4..] seat ids
-- Reply: {1, lapsed, fence, expiresAt, {newlyHeld...}, {groupSeat...}}
--      | {-3, lapsed, {unavailable...}} | {-4, lapsed, limit} | {-6} admission required
--      | {-2, {unknown...}} | {-1} unknown event
-- where lapsed = {ownerUserId, {freedSeat...}, ...} (groups ended here because they had expired).
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
if redis.call('HGET', K_DEF, 'requiresAdmission') == '1' and ARGV[2] ~= '1' then return {-6} end
local unknown = unknown_seats(4)
if #unknown > 0 then return {-2, unknown} end
local user = ARGV[1]
local lapsed = {}
local function lapse(owner)
  local g = get_group(owner)
  if g and tonumber(g.e) <= now then
    lapsed[#lapsed + 1] = owner
    lapsed[#lapsed + 1] = end_group(owner)
  end
end
lapse(user)
local busy, new, seen = {}, {}, {}
for i = 4, #ARGV do
  local s = ARGV[i]
  if not seen[s] then
    seen[s] = true
    if redis.call('HEXISTS', K_SOLD, s) == 1 then
      busy[#busy + 1] = s
    else
      local h = redis.call('HGET', K_HOLDER, s)
      if h and h ~= user then
        lapse(h)
        h = redis.call('HGET', K_HOLDER, s)
      end
      if not h then
        new[#new + 1] = s
      elseif h ~= user then
        busy[#busy + 1] = s
      end
    end
  end
end
if #busy > 0 then return logged({-3, lapsed, busy}) end
local g = get_group(user)
local limit = tonumber(redis.call('HGET', K_DEF, 'maxSeats'))
local have = 0
if g then have = #g.s end
if have + #new > limit then return logged({-4, lapsed, limit}) end
if not g then
  local hold_ms = tonumber(redis.call('HGET', K_DEF, 'holdMs'))
  g = {f = redis.call('INCR', K_FENCE), e = now + hold_ms, s = {}}
end
for _, s in ipairs(new) do
  redis.call('HSET', K_HOLDER, s, user)
  g.s[#g.s + 1] = s
  changed(s, 'held')
end
put_group(user, g)
add_member(user, tonumber(ARGV[3]))
return logged({1, lapsed, g.f, g.e, new, g.s})
