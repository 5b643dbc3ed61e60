-- subs_reserve.lua: takes a place under the per-address subscription cap (not a room script).
-- KEYS[1] subs:{limit key}   ARGV[1] now (ms)  ARGV[2] the cap  ARGV[3] connection id
-- ARGV[4] until when (ms) the place is held without a confirmation
-- With KEYS[2] rl:{limit key} (the same slot), ARGV[5] the window (s) and ARGV[6] the limit,
-- the request is first counted in the address's window as ratelimit.lua counts it, and past
-- the limit no place is taken: the authorizer's two steps in one call.
-- The set scores each connection with the time its place runs out: a WebSocket or EventSource
-- stream until its subscribe hook holds it (subs_hold: for as long as it lives), a long-poll
-- for its poll timeout. Checking and taking a place is one atomic step, so parallel handshakes
-- cannot all slip under the cap. A connection id already present (a member's next long-poll)
-- keeps its place. Returns {1 taken, 0 the cap is reached, or -1 over the rate limit; the
-- window's count and seconds left (0 and 0 without KEYS[2])}.
local count, ttl = 0, 0
if KEYS[2] then
  count, ttl = count_request(KEYS[2], ARGV[5])
  if count > tonumber(ARGV[6]) then return {-1, count, ttl} end
end
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and
   redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return {0, count, ttl}
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('EXPIRE', KEYS[1], 86400)
return {1, count, ttl}
