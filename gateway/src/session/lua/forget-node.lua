-- forget-node.lua: ioredis command `forgetNode`. Removes a node from the registry once its sockets are
-- purged. With deadAfterMs >= 0 it removes the node only if it is still dead: a node that beat again
-- meanwhile (a long pause, not a crash) stays registered.
-- KEYS[1] nodes registry sorted set
-- ARGV[1] nodeId   ARGV[2] deadAfterMs, or -1 to remove unconditionally (graceful removeNode)
-- Reply: 1 when removed, 0 when absent or alive again.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return 0
end
local deadAfter = tonumber(ARGV[2])
if deadAfter >= 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if tonumber(score) >= now - deadAfter then
    return 0
  end
end
return redis.call('ZREM', KEYS[1], ARGV[1])
