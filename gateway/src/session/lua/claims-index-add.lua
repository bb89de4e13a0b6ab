-- claims-index-add.lua: ioredis command `claimsIndexAdd`. Names an event in the user's queue/hold index and
-- extends the index's lifetime: the claim store's index write before an event-side script, as one command
-- (so a seat:hold costs this and the hold script, sent together: one round trip on a single Redis).
-- KEYS[1] the user's hash (`e<eventId>` -> '' per indexed event, besides the session and the seen mark: see
--         lua/session/prelude.lua); its TTL is only ever extended (the others may need it longer)
-- ARGV[1] eventId   ARGV[2] index ttl ms
-- Reply: 1
redis.call('HSET', KEYS[1], 'e' .. ARGV[1], '')
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
