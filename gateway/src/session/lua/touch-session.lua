-- touch-session.lua: ioredis command `touchSession`. Slides the TTL of an existing session (activity);
-- a user without a session is left alone (touch never creates one).
-- KEYS[1] the session hash (see attach-socket.lua)
-- ARGV[1] ttlMs
-- Reply: 1 when the session existed and was extended, 0 otherwise.
return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
