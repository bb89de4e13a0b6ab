-- heartbeat-node.lua: ioredis command `heartbeatNode`. Records that a node is alive now, by Redis' clock
-- (one clock for every node, so gateway clock skew cannot make a live node look dead).
-- KEYS[1] nodes registry sorted set (member nodeId, score last heartbeat epoch ms)
-- ARGV[1] nodeId
-- Reply: 1 when the node was not registered (first beat, or it had been purged as dead), else 0.
local t = redis.call('TIME')
return redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
