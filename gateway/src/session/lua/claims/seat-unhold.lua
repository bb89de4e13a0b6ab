-- seat-unhold.lua: ioredis command `seatUnhold`. Undoes a hold the user was not told about: after a
-- seat:hold whose WAIT fell short (REDIS_WAIT_REPLICAS), frees exactly the seats that call newly held, if
-- the user's group still carries that call's fence (a later group of the user is never touched), and drops
-- the call's request record, so a retry with the same request id acts again instead of replaying "held".
-- KEYS: the twelve event keys (see prelude.lua), then KEYS[13] the request's own key (in the event's slot)
-- ARGV[1] userId   ARGV[2] fence   ARGV[3] requestId ('' without)   ARGV[4..] seat ids the call newly held
-- Reply: {1, {freed...}} | {-5} the group moved on (nothing freed) | {-1} unknown event
local K_REQ = KEYS[13]
local user = ARGV[1]
redis.call('DEL', K_REQ)
if ARGV[3] ~= '' then
  local req_id, records, kept = record_id(ARGV[3]), load_records(user), {}
  for i = 1, #records, 3 do
    if records[i] ~= req_id then
      kept[#kept + 1], kept[#kept + 2], kept[#kept + 3] = records[i], records[i + 1], records[i + 2]
    end
  end
  save_records(user, kept)
end
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local g = get_group(user)
if not g or tonumber(g.f) ~= tonumber(ARGV[2]) then return {-5} end
local freed, gone = {}, {}
for i = 4, #ARGV do
  local s = ARGV[i]
  if not gone[s] and holder_of(s) == user then
    del_holder(s)
    freed[#freed + 1] = s
    gone[s] = true
    changed(s, 'free')
  end
end
drop_from_group(user, gone)
return logged({1, freed})
