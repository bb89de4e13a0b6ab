-- queue-positions.lua: ioredis command `queuePositions`. The queue's size and the positions of some users in
-- it, for a node's throttled `queue:position` pushes (features/queue/queue-watch.ts). One script for a batch
-- of users instead of a ZRANK command each: a node watching 5,000 queued users built 5,000 client-side
-- commands every push interval (measured: ~5 % of a survivor's CPU in the kill storm, docs/benchmarks.md §6a).
-- KEYS[1] the event's queue (sorted set, event slot)
-- ARGV    user ids (the caller bounds how many per call, so one call blocks Redis for little)
-- Reply: {ZCARD, then per user its 1-based position, or 0 when the user is not queued}
local queue = KEYS[1]
local reply = { redis.call('ZCARD', queue) }
for i = 1, #ARGV do
  local rank = redis.call('ZRANK', queue, ARGV[i])
  if rank then reply[i + 1] = rank + 1 else reply[i + 1] = 0 end
end
return reply
