-- ratelimit.lua: per-client-IP fixed window (not a room script).
-- KEYS[1] rl:{ip}   ARGV[1] now (ms, unused)  ARGV[2] window (s)
-- Returns {count in this window, seconds until the window ends}.
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
