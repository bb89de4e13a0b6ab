-- seat-map.lua: ioredis command `seatMap`. One consistent snapshot of every seat's state, with the
-- change version it was read at (def field `ver`; 0 before the first change).
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV: none
-- Reply: {1, {seat...}, {heldSeat...}, {soldSeat...}, version} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local version = tonumber(redis.call('HGET', K_DEF, 'ver') or '0')
return {1, redis.call('SMEMBERS', K_SEATS), redis.call('HKEYS', K_HOLDER), redis.call('HKEYS', K_SOLD), version}
