-- seat-hold.lua: ioredis command `seatHold`. All-or-nothing hold of seats for one user: either every
-- requested seat ends up held by the user (free ones taken, own ones kept) or nothing changes. A user's
-- holds on one event form one group with one fence and one expiry (set when the group starts; adding seats
-- does not extend it). Groups whose expiry passed but that the sweeper has not ended yet are ended here
-- first (and reported as lapsed), so the answer never depends on sweep timing.
-- With a request record (ARGV[4] > 0) the request ledger is folded in, in the same atomic step: a record
-- of (user, requestId) found is answered as it is, changing nothing; else the outcome, whatever it is
-- (refusals included), is recorded for ARGV[4] ms, with `lapsed` emptied (a lapse is announced once): in
-- the user's list in K_REQS (prelude.lua's load_records; the user becomes a member, so the member check
-- drops the list once expired), or in KEYS[13], a key of its own, when the list is full or the event unknown.
-- KEYS: the twelve event keys (see prelude.lua), then KEYS[13] the request's own key (in the event's slot)
-- ARGV[1] userId   ARGV[2] admitted (1 when the request carried a valid admission token)   ARGV[3] checkMs
-- ARGV[4] how long to keep the request record, ms (0: no request id, no record)   ARGV[5] requestId ('' without)
-- ARGV[6..] seat ids
-- Reply: {1, lapsed, fence, expiresAt, {newlyHeld...}, {groupSeat...}}
--      | {-3, lapsed, {unavailable...}} | {-4, lapsed, limit} | {-6} admission required
--      | {-2, {unknown...}} | {-1} unknown event
--      | {2, recorded} replayed: `recorded` is the first answer (one of the above, lapsed empty)
-- where lapsed = {ownerUserId, {freedSeat...}, ...} (groups ended here because they had expired); a taken
-- hold may end with {due, dueSeq} when the event's next sweep moved earlier (prelude.lua's with_due).
local K_REQ = KEYS[13]
local FIRST_SEAT = 6
local user = ARGV[1]
local record_ms = tonumber(ARGV[4])
local req_id = record_id(ARGV[5])
local replayed = function(first)
  if first[1] == 1 then first[3] = tonumber(first[3]) end
  return {2, first}
end
-- The user's live records, read once: nothing before `outcome` writes K_REQS, so it saves this list.
local records = {}
if record_ms > 0 then
  records = load_records(user)
  for i = 1, #records, 3 do
    if records[i] == req_id then
      -- A write (the record as it is) so that a WAIT after this replay covers the first answer's write too.
      redis.call('HSET', K_REQS, user, redis.call('HGET', K_REQS, user))
      return replayed(records[i + 2])
    end
  end
  local recorded = redis.call('GET', K_REQ)
  if recorded then
    local ttl = redis.call('PTTL', K_REQ)
    if ttl > 0 then redis.call('PEXPIRE', K_REQ, ttl) end
    return replayed(cjson.decode(recorded))
  end
end
-- Records the outcome (when asked) and returns it. cmsgpack (and cjson) keep an empty table an empty table:
-- a replayed empty list stays an empty list.
local function outcome(reply)
  if record_ms > 0 then
    local kept = {}
    for i, v in ipairs(reply) do kept[i] = v end
    if reply[1] == 1 or reply[1] == -3 or reply[1] == -4 then kept[2] = {} end
    if reply[1] == -1 or #records >= RECORDS_MAX * 3 then
      -- cjson writes numbers with 14 significant digits: the fence (16) as text.
      if reply[1] == 1 then kept[3] = fence_text(reply[3]) end
      redis.call('SET', K_REQ, cjson.encode(kept), 'PX', record_ms)
    else
      records[#records + 1], records[#records + 2], records[#records + 3] = req_id, now + record_ms, kept
      save_records(user, records)
      add_member(user, tonumber(ARGV[3]))
    end
  end
  return reply
end
if redis.call('EXISTS', K_DEF) == 0 then return outcome({-1}) end
if redis.call('HGET', K_DEF, 'requiresAdmission') == '1' and ARGV[2] ~= '1' then return outcome({-6}) end
local unknown = unknown_seats(FIRST_SEAT)
if #unknown > 0 then return outcome({-2, unknown}) end
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
for i = FIRST_SEAT, #ARGV do
  local s = ARGV[i]
  if not seen[s] then
    seen[s] = true
    if redis.call('HEXISTS', K_SOLD, s) == 1 then
      busy[#busy + 1] = s
    else
      local h = holder_of(s)
      if h and h ~= user then
        lapse(h)
        h = holder_of(s)
      end
      if not h then
        new[#new + 1] = s
      elseif h ~= user then
        busy[#busy + 1] = s
      end
    end
  end
end
if #busy > 0 then return outcome(logged({-3, lapsed, busy})) end
local g = get_group(user)
local limit = tonumber(redis.call('HGET', K_DEF, 'maxSeats'))
local have = 0
if g then have = #g.s end
if have + #new > limit then return outcome(logged({-4, lapsed, limit})) end
if not g then
  local hold_ms = tonumber(redis.call('HGET', K_DEF, 'holdMs'))
  g = {f = next_fence(), e = now + hold_ms, s = {}}
end
for _, s in ipairs(new) do
  set_holder(s, user)
  g.s[#g.s + 1] = s
  changed(s, 'held')
end
put_group(user, g)
add_member(user, tonumber(ARGV[3]))
return outcome(logged(with_due({1, lapsed, tonumber(g.f), g.e, new, g.s}, false)))
