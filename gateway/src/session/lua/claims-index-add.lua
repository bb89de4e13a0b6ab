-- claims-index-add.lua: ioredis command `claimsIndexAdd`. Names an event in the user's queue/hold index and
-- extends the index's lifetime: the claim store's index write before an event-side script, as one command
-- (so a seat:hold costs this and the hold script, sent together: one round trip on a single Redis).
-- KEYS[1] the user's index (hash eventId -> 1), in the user's hash tag
-- ARGV[1] eventId   ARGV[2] index ttl ms
-- Reply: 1
redis.call('HSET', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
