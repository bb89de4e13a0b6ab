-- node-index-add.lua: ioredis command `nodeIndexAdd`. Adds socket entries to buckets of one node's socket
-- index (redis/node-keys.ts), for all the attaches of one turn of the node's event loop at once, on Redis
-- Cluster (redis/attach-batches.ts; a single Redis writes them in attach-sockets.lua): one command per turn
-- instead of one HSET per attach.
-- KEYS    buckets of one node's index (`{node:<id>}:s:<b>`, one slot), each once
-- ARGV    for each key in order: how many entries, then the entries (each stored with the value '')
-- Reply: the number of entries that were new
local a, added = 1, 0
for k = 1, #KEYS do
  local n = tonumber(ARGV[a])
  local pairs = {}
  for i = 1, n do
    pairs[2 * i - 1] = ARGV[a + i]
    pairs[2 * i] = ''
  end
  added = added + redis.call('HSET', KEYS[k], unpack(pairs))
  a = a + n + 1
end
return added
