-- ticket.lua: a single-use ticket for the caller's next event subscription, so that browsers
-- (whose WebSocket and EventSource cannot send headers) never put the token in a URL.
-- ARGV 9 the ticket's SHA-256 (the caller draws the ticket and returns it)  10 lifetime (ms)
-- Only the digest is stored, with its member and expiry; subscribe.lua consumes it. Expired
-- tickets are swept here once the hash grows (at most every few seconds), so it stays small
-- whatever clients do.
-- Returns 201 with the expiry (ms) as body.
local m = authenticate()
rate_limit(m.id, 'ticket', CONTROL_RATE)
local expires = NOW + tonumber(ARGV[10])
local next_sweep = tonumber(redis.call('HGET', K_ROOM, 'ticketSweep') or '0')
if NOW >= next_sweep and redis.call('HLEN', K_TICKETS) >= TICKETS_SWEEP_AT then
  redis.call('HSET', K_ROOM, 'ticketSweep', int(NOW + TICKETS_SWEEP_EVERY_MS))
  local all = redis.call('HGETALL', K_TICKETS)
  for i = 1, #all, 2 do
    local at = tonumber(string.match(all[i + 1], ' (%d+)$'))
    if not at or at <= NOW then redis.call('HDEL', K_TICKETS, all[i]) end
  end
end
redis.call('HSET', K_TICKETS, ARGV[9], m.id .. ' ' .. int(expires))
redis.call('PEXPIRE', K_TICKETS, TTL * 1000)
return result(201, int(expires))
