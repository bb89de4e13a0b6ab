-- seat-unhold.lua: ioredis command `seatUnhold`. Undoes a hold the user was not told about: after a
-- seat:hold whose WAIT fell short (REDIS_WAIT_REPLICAS), frees exactly the seats that call newly held, if
-- the user's group still carries that call's fence (a later group of the user is never touched), and drops
-- the call's request record, so a retry with the same request id acts again instead of replaying "held".
-- KEYS: the twelve event keys (see prelude.lua), then KEYS[13] the request record (in the event's slot)
-- ARGV[1] userId   ARGV[2] fence   ARGV[3..] seat ids the call newly held
-- Reply: {1, {freed...}} | {-5} the group moved on (nothing freed) | {-1} unknown event
local K_REQ = KEYS[13]
redis.call('DEL', K_REQ)
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local user = ARGV[1]
local g = get_group(user)
if not g or tonumber(g.f) ~= tonumber(ARGV[2]) then return {-5} end
local freed, gone = {}, {}
for i = 3, #ARGV do
  local s = ARGV[i]
  if not gone[s] and redis.call('HGET', K_HOLDER, s) == user then
    redis.call('HDEL', K_HOLDER, s)
    freed[#freed + 1] = s
    gone[s] = true
    changed(s, 'free')
  end
end
drop_from_group(user, gone)
return logged({1, freed})
