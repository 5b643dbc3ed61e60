-- subscribe.lua: authorizes an event subscription, with the request's bearer token (standard
-- ARGV 8) or a ticket.  ARGV 9 the ticket's SHA-256 ('' when the token is used)
-- A ticket is consumed whether or not it is still valid: each one opens at most one stream.
-- Returns 200 with the member's id as body (and, like every room script, the channel to
-- subscribe to).
if ARGV[9] == '' then return result(200, authenticate().id) end
if not room_exists() then fail('room_not_found') end
local raw = redis.call('HGET', K_TICKETS, ARGV[9])
if not raw then fail('unauthorized') end
redis.call('HDEL', K_TICKETS, ARGV[9])
local uid, expires = string.match(raw, '^(%S+) (%d+)$')
if tonumber(expires) <= NOW or not get_member(uid) then fail('unauthorized') end
return result(200, uid)
