-- find-dead-nodes.lua: ioredis command `findDeadNodes`. Lists nodes whose last heartbeat is older than
-- deadAfterMs by Redis' clock. Read-only: the caller purges each one, then forget-node.lua removes it.
-- KEYS[1] nodes registry sorted set
-- ARGV[1] deadAfterMs   ARGV[2] limit
-- Reply: {nodeId...}, oldest first, at most `limit`.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cutoff = string.format('(%.0f', now - tonumber(ARGV[1]))
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[2]))
