-- user-state.lua: ioredis command `userState`. What one user has in one event, read in one step
-- (restore calls it once per event of the user's index, pipelined). Read-only: an expired group that the
-- sweeper has not ended yet is reported as no hold.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] userId
-- Reply: {1, position (0 = not queued), size, fence (0 = no hold), expiresAt, {seat...}, admissionExpiresAt (0 = none)}
--      | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local user = ARGV[1]
local rank = redis.call('ZRANK', K_QUEUE, user)
local position = 0
if rank then position = rank + 1 end
local fence, expires, seats = 0, 0, {}
local g = get_group(user)
if g and tonumber(g.e) > now then
  fence, expires, seats = tonumber(g.f), g.e, g.s
end
local admitted = tonumber(redis.call('ZSCORE', K_ADMITTED, user) or '0')
if admitted <= now then admitted = 0 end
return {1, position, redis.call('ZCARD', K_QUEUE), fence, expires, seats, admitted}
