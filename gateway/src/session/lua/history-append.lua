-- Appends one message to a stream's history and returns its position.
-- KEYS[1] meta hash {epoch, last}; KEYS[2] log stream (entry id <offset>-0, fields e, d, t)
-- ARGV[1] a new epoch, used only when the stream has no history (first message, or history lost: a lost
--         history gets a new epoch, so clients can tell it from "nothing missed")
-- ARGV[2] messages to keep (HISTORY_SIZE, > 0); ARGV[3] TTL in ms of both keys (refreshed by each append)
-- ARGV[4] event name; ARGV[5] data as JSON ('' = no data)
-- ARGV[6] a Pub/Sub channel to PUBLISH the message on ('' = none: the caller sends it), ARGV[7] the socket.io
--         room and ARGV[8] the publishing node, for that message: JSON {node, room, epoch, offset, event, data}.
--         Publishing here saves the other nodes a hop (they get it as the append returns), and keeps one
--         order: a message is never on Pub/Sub before it is in history.
-- Reply: {epoch, offset}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'last', 0)
end
local offset = redis.call('HINCRBY', KEYS[1], 'last', 1)
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-0', 'e', ARGV[4], 'd', ARGV[5], 't', ms)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[6] ~= '' then
  local data = ARGV[5]
  if data == '' then data = 'null' end
  redis.call('PUBLISH', ARGV[6], '{"node":' .. cjson.encode(ARGV[8]) .. ',"room":' .. cjson.encode(ARGV[7]) ..
    ',"epoch":' .. cjson.encode(epoch) .. ',"offset":' .. offset .. ',"event":' .. cjson.encode(ARGV[4]) ..
    ',"data":' .. data .. '}')
end
return {epoch, offset}
