-- touch-session.lua: ioredis command `touchSession`. Slides a live session (activity); a user without one
-- is left alone (touch never starts a session).
-- KEYS[1] the user's hash (session and marks: see prelude.lua)
-- ARGV[1] ttlMs
-- Reply: 1 when the session lived and was extended, 0 otherwise.
if not alive() then return 0 end
slide(tonumber(ARGV[1]))
return 1
