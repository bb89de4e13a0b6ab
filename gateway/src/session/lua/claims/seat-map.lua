-- seat-map.lua: ioredis command `claimSeatMap`. One consistent snapshot of every seat's state.
-- KEYS: the eleven event keys (see prelude.lua)
-- ARGV: none
-- Reply: {1, {seat...}, {heldSeat...}, {soldSeat...}} | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
return {1, redis.call('SMEMBERS', K_SEATS), redis.call('HKEYS', K_HOLDER), redis.call('HKEYS', K_SOLD)}
