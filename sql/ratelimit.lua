-- ratelimit.lua: per-client-IP fixed window (not a room script).
-- KEYS[1] rl:{ip}   ARGV[1] now (ms, unused)  ARGV[2] window (s)
-- Returns {count in this window, seconds until the window ends}.
local count, ttl = count_request(KEYS[1], ARGV[2])
return {count, ttl}
