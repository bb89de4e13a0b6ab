-- revoke-tokens.lua: ioredis command `revokeTokens`. Revokes every token of one user issued at or before
-- now (Redis' clock, whole seconds): attach-socket.lua refuses them from then on. The revocation only ever
-- moves forward (a second call, or a Redis clock that stepped back, never un-revokes a token) and is kept
-- for keepMs from this call: by then every token it refuses has expired.
-- KEYS[1] the user's revocation (string: epoch second), in the user's hash tag
-- ARGV[1] keepMs
-- Reply: the revocation second now in force.
local t = redis.call('TIME')
local revokedAt = tonumber(t[1])
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
if previous > revokedAt then
  revokedAt = previous
end
redis.call('SET', KEYS[1], revokedAt, 'PX', tonumber(ARGV[1]))
return revokedAt
