-- seat-map.lua: ioredis command `seatMap`. One consistent snapshot of the seats' state (every seat, or one
-- section's), with the change version it was read at (def field `ver`; 0 before the first change).
-- A section is the seats whose id starts with `<section><sep>` (def field `sep`): one ZRANGEBYLEX range
-- of the sorted seats key, then their holders and sales by HMGET, so a section read costs its own size.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] section ('' = every seat)
-- Reply: {1, {seat...}, {heldSeat...}, {soldSeat...}, version} | {-1} unknown event | {-7} no sections
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local version = tonumber(redis.call('HGET', K_DEF, 'ver') or '0')
if ARGV[1] == '' then
  return {1, all_seats(), redis.call('HKEYS', K_HOLDER), redis.call('HKEYS', K_SOLD), version}
end
local sep = redis.call('HGET', K_DEF, 'sep') or ''
if sep == '' or not seats_sorted() then return {-7} end
local prefix = ARGV[1] .. sep
-- Seat ids are printable ASCII: every id that starts with `prefix` sorts below `prefix` .. '\127'.
local ids = redis.call('ZRANGEBYLEX', K_SEATS, '[' .. prefix, '(' .. prefix .. '\127')
local held, sold = {}, {}
for i = 1, #ids, 1000 do
  local last = math.min(i + 999, #ids)
  local holders = redis.call('HMGET', K_HOLDER, unpack(ids, i, last))
  local sales = redis.call('HMGET', K_SOLD, unpack(ids, i, last))
  for j = i, last do
    if holders[j - i + 1] then held[#held + 1] = ids[j] end
    if sales[j - i + 1] then sold[#sold + 1] = ids[j] end
  end
end
return {1, ids, held, sold, version}
