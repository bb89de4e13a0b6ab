-- request-abandon.lua: ioredis command `requestAbandon`. Forgets an in-flight marker (never a recorded ack).
-- KEYS[1] the ledger entry, in the user's hash tag
-- ARGV: none
-- Reply: 1 when the marker was removed, else 0
if redis.call('GET', KEYS[1]) == 'pending' then return redis.call('DEL', KEYS[1]) end
return 0
