-- delete-event.lua: ioredis command `deleteEvent`. Deletes every fixed key of the event (the twelve below,
-- and the holder, group and member buckets),
-- refused while the event is busy: a live hold (a group not expired), a queued user or an admission not
-- expired, unless forced. Sold seats do not make it busy. The keys are UNLINKed (freed in the background:
-- a 100,000-seat key takes milliseconds to free), the seat:hold records in K_REQS too. Records in keys of
-- their own (`…:req:…`, own TTL) and the global lists are the caller's (another slot, or keys no script may
-- name in advance).
-- KEYS: the twelve event keys (see prelude.lua)
-- ARGV[1] force 0|1
-- Reply: {1, heldUsers, queued, admitted} deleted | {-8, heldUsers, queued, admitted} busy | {-1} unknown event
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
-- Live groups, counted one by one (no index of hold expiries: a delete is an operator's call, not a hot path).
local held = 0
for _, bucket in ipairs(bucket_keys(K_GROUPS)) do
  for _, raw in ipairs(redis.call('HVALS', bucket)) do
    if tonumber(decode_group(raw).e) > now then held = held + 1 end
  end
end
local queued = redis.call('ZCARD', K_QUEUE)
local admitted = redis.call('ZCOUNT', K_ADMITTED, '(' .. string.format('%.0f', now), '+inf')
if ARGV[1] ~= '1' and held + queued + admitted > 0 then return {-8, held, queued, admitted} end
redis.call('UNLINK', K_DEF, K_SEATS, K_HOLDER, K_SOLD, K_GROUPS, K_FENCE, K_QUEUE, K_QSEQ, K_ADMITTED, K_MEMBERS, K_LOG, K_REQS)
-- The holder, group and member buckets (prelude.lua's bucket_keys: nb was read, and kept, before K_DEF
-- went), in batches: unpack() takes a few thousand values at most.
for _, base in ipairs({K_HOLDER, K_GROUPS, K_MEMBERS}) do
  local count = nil
  if base == K_MEMBERS then count = MEMBER_BUCKETS end
  local buckets = bucket_keys(base, count)
  for i = 1, #buckets, 1000 do redis.call('UNLINK', unpack(buckets, i, math.min(i + 999, #buckets))) end
end
return {1, held, queued, admitted}
