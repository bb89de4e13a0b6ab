-- define-event.lua: ioredis command `defineEvent`. Creates or replaces an event definition
-- (idempotent: the same PUT twice leaves the same state). Seats missing from the new list are removed only
-- if free; a held or sold seat cannot be removed (nothing changes then). A change of the seat set takes a new
-- version and empties the change log, so every follower re-reads the map (the log has no "removed").
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] requiresAdmission 0|1   ARGV[2] admissions per second (0 = only by service call)
-- ARGV[3] maxSeats per user   ARGV[4] holdMs   ARGV[5..] seat ids
-- Reply: {1, existedBefore 0|1, seatCount} or {-1, {blockedSeatId...}}
local existed = redis.call('EXISTS', K_DEF)
local wanted = {}
for i = 5, #ARGV do wanted[ARGV[i]] = true end
local blocked, remove = {}, {}
for _, s in ipairs(redis.call('SMEMBERS', K_SEATS)) do
  if not wanted[s] then
    if redis.call('HEXISTS', K_HOLDER, s) == 1 or redis.call('HEXISTS', K_SOLD, s) == 1 then
      blocked[#blocked + 1] = s
    else
      remove[#remove + 1] = s
    end
  end
end
if #blocked > 0 then return {-1, blocked} end
for _, s in ipairs(remove) do redis.call('SREM', K_SEATS, s) end
-- unpack() is limited to a few thousand values: add in batches.
local added, batch = 0, {}
for i = 5, #ARGV do
  batch[#batch + 1] = ARGV[i]
  if #batch == 1000 then
    added = added + redis.call('SADD', K_SEATS, unpack(batch))
    batch = {}
  end
end
if #batch > 0 then added = added + redis.call('SADD', K_SEATS, unpack(batch)) end
if existed == 1 and (added > 0 or #remove > 0) then
  redis.call('HINCRBY', K_DEF, 'ver', 1)
  redis.call('DEL', K_LOG)
end
redis.call('HSET', K_DEF, 'requiresAdmission', ARGV[1], 'rate', ARGV[2], 'maxSeats', ARGV[3], 'holdMs', ARGV[4])
return {1, existed, redis.call('SCARD', K_SEATS)}
