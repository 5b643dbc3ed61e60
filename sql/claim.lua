-- claim.lua: takes the due entries of timer sets (not a room script). Removing them in the
-- same script that reads them means two pushd instances never both run one entry.
-- KEYS timers:<kind>, one or more (all of pushd's sets in one call on a single Redis, one
-- call per set on a Cluster, where the sets live in different slots)
-- ARGV[1] now (ms)  ARGV[2] at most this many per set
-- Returns, for each set in KEYS order: the score of the earliest entry left (nil when none:
-- pushd sleeps until then), how many were claimed, then the claimed members.
local out, limit = {}, tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[1], 'LIMIT', 0, limit)
  if #due > 0 then redis.call('ZREM', key, unpack(due)) end
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  out[#out + 1] = first[2] or false
  out[#out + 1] = #due
  for _, member in ipairs(due) do out[#out + 1] = member end
end
return out
