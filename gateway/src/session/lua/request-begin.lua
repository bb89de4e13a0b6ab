-- request-begin.lua: ioredis command `requestBegin`. Starts a request of the request ledger: sets the
-- in-flight marker unless an entry exists (SET NX semantics: of two racing identical requests exactly one
-- sets it), else answers the entry, in one step (no "just expired between SET and GET" window).
-- KEYS[1] the ledger entry, in the user's hash tag: 'pending' or JSON {event, ack}
-- ARGV[1] how long the marker lives (ms)
-- Reply: {1} the marker was set (the caller owns the request) | {0, entry}
if redis.call('SET', KEYS[1], 'pending', 'PX', ARGV[1], 'NX') then return {1} end
return {0, redis.call('GET', KEYS[1])}
