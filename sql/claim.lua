-- claim.lua: takes the due entries of one timer set (not a room script). Removing them in the
-- same script that reads them means two pushd instances never both run one entry.
-- KEYS[1] timers:<kind>   ARGV[1] now (ms)  ARGV[2] at most this many
-- Returns the score of the earliest entry left (nil when none: pushd sleeps until then), then
-- the claimed members.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {first[2] or false, unpack(due)}
