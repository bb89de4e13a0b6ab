-- seat-map.lua: ioredis command `seatMap`. One consistent snapshot of the seats' state (every seat, or one
-- section's), with the change version it was read at (def field `ver`; 0 before the first change).
-- A section is the seats whose id starts with `<section><sep>` (def field `sep`): one ZRANGEBYLEX range
-- of the sorted seats key, then their holders (by HMGET per holder bucket, prelude.lua's bucket_key) and sales
-- by HMGET, so a section read costs its own size.
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] section ('' = every seat)
-- Reply: {1, {seat...}, {heldSeat...}, {soldSeat...}, version} | {-1} unknown event | {-7} no sections
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local version = tonumber(redis.call('HGET', K_DEF, 'ver') or '0')
if ARGV[1] == '' then
  local held = {}
  for _, bucket in ipairs(bucket_keys(K_HOLDER)) do
    for _, seat in ipairs(redis.call('HKEYS', bucket)) do held[#held + 1] = seat end
  end
  return {1, all_seats(), held, redis.call('HKEYS', K_SOLD), version}
end
local sep = redis.call('HGET', K_DEF, 'sep') or ''
if sep == '' or not seats_sorted() then return {-7} end
local prefix = ARGV[1] .. sep
-- Seat ids are printable ASCII: every id that starts with `prefix` sorts below `prefix` .. '\127'.
local ids = redis.call('ZRANGEBYLEX', K_SEATS, '[' .. prefix, '(' .. prefix .. '\127')
local held, sold, by_bucket = {}, {}, {}
for i = 1, #ids, 1000 do
  local last = math.min(i + 999, #ids)
  local sales = redis.call('HMGET', K_SOLD, unpack(ids, i, last))
  for j = i, last do
    if sales[j - i + 1] then sold[#sold + 1] = ids[j] end
    local bucket = bucket_key(K_HOLDER, ids[j])
    local list = by_bucket[bucket]
    if not list then
      list = {}
      by_bucket[bucket] = list
    end
    list[#list + 1] = ids[j]
  end
end
-- The section's held seats, in seat order (a bucket's answers are marked, then the ids walked once).
local is_held = {}
for bucket, list in pairs(by_bucket) do
  for i = 1, #list, 1000 do
    local last = math.min(i + 999, #list)
    local holders = redis.call('HMGET', bucket, unpack(list, i, last))
    for j = i, last do
      if holders[j - i + 1] then is_held[list[j]] = true end
    end
  end
end
for _, id in ipairs(ids) do
  if is_held[id] then held[#held + 1] = id end
end
return {1, ids, held, sold, version}
