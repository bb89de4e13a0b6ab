-- seat-changes.lua: ioredis command `seatChanges`. The seats that changed after version ARGV[1], each
-- with its latest status, read from the change log (see prelude.lua). Incomplete when the log no longer
-- reaches back that far (trimmed, emptied by a redefinition) or when more than ARGV[2] versions passed: the
-- reader then has the whole map re-read rather than this script walking an unbounded log.
-- KEYS: the twelve event keys (see prelude.lua)
-- With a section (ARGV[3]), only the seats of that section (ids starting with `<section><sep>`) are told.
-- ARGV[1] after version ('' = only tell the current version)   ARGV[2] most versions to read
-- ARGV[3] section ('' = every seat)
-- Reply: {1, version, complete 0|1, {seat, status, ...}} | {-1} unknown event | {-7} no sections
if redis.call('EXISTS', K_DEF) == 0 then return {-1} end
local prefix = nil
if ARGV[3] ~= '' then
  local sep = redis.call('HGET', K_DEF, 'sep') or ''
  if sep == '' then return {-7} end
  prefix = ARGV[3] .. sep
end
local version = tonumber(redis.call('HGET', K_DEF, 'ver') or '0')
if ARGV[1] == '' then return {1, version, 1, {}} end
local after = tonumber(ARGV[1])
if after >= version then return {1, version, 1, {}} end
if version - after > tonumber(ARGV[2]) then return {1, version, 0, {}} end
local first = (after + 1) .. '-0'
local entries = redis.call('XRANGE', K_LOG, first, version .. '-0')
if #entries == 0 or entries[1][1] ~= first then return {1, version, 0, {}} end
local latest = {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields, 2 do latest[fields[i]] = fields[i + 1] end
end
local flat = {}
for seat, status in pairs(latest) do
  if prefix == nil or string.sub(seat, 1, #prefix) == prefix then
    flat[#flat + 1] = seat
    flat[#flat + 1] = status
  end
end
return {1, version, 1, flat}
