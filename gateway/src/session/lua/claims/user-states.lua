-- user-states.lua: ioredis command `userStates`. What some users have in one event, read in one step. A
-- restore reads each event of the user's index; the reads of the restores of one turn of a node's event
-- loop are gathered per event into one call (redis/user-state-reads.ts): in an on-sale herd every
-- reconnecting user is in the same event, so a herd costs one script per turn instead of one per user.
-- Read-only: an expired group that the sweeper has not ended yet is reported as no hold.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV    user ids (the caller bounds how many per call)
-- Reply: {1, size, then per user {position (0 = not queued), fence (0 = no hold), expiresAt, {seat...},
--         admissionExpiresAt (0 = none)}}
--      | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local reply = {1, redis.call('ZCARD', K_QUEUE)}
for i = 1, #ARGV do
  local user = ARGV[i]
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
  reply[i + 2] = {position, fence, expires, seats, admitted}
end
return reply
