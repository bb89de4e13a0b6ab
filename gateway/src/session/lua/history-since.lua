-- Reads a stream's head and the retained messages after a client's position.
-- KEYS[1] meta hash {epoch, last}; KEYS[2] log stream
-- ARGV[1] a new epoch, used only when the stream has no history (it is created empty, so the head read
--         here stays the head the next append continues from); ARGV[2] TTL in ms of a created meta
-- ARGV[3] the client's epoch ('' = no position: head only); ARGV[4] the client's offset
-- Reply: {epoch, last, first retained offset (0 = none), now ms, entries}: entries are XRANGE's
-- [[id, [field, value, ...]], ...] after the position, read only when the epochs match and it is behind.
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local last = 0
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'last', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local first = 0
local entries = {}
local after = tonumber(ARGV[4])
if ARGV[3] == epoch and after < last then
  local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
  if head[1] then first = tonumber(string.match(head[1][1], '^(%d+)')) end
  entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+')
end
return {epoch, last, first, ms, entries}
