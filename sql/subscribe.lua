-- subscribe.lua: authorizes an event subscription, with the request's bearer token (standard
-- ARGV 8) or a ticket.  ARGV 9 the ticket's SHA-256 ('' when the token is used)
-- The authorizer (fcgi/events.c events_authorize) also passes the stream it is about to let
-- through, to open its lease in the same call: ARGV 10 the user id its URL names, 11 the
-- channel, 12 the connection id, 13 the address's limit key, 14 the owner (as presence.lua's
-- open). The lease is opened only when the credential is that user's and the channel is the
-- room's current one; otherwise the caller refuses the stream and gives the place back.
-- A ticket is consumed whether or not it is still valid: each one opens at most one stream.
-- Returns 200 with the member's id as body (and, like every room script, the channel to
-- subscribe to), with the open's events and follow-ups.
local function member_id()
  if ARGV[9] == '' then return authenticate().id end
  if not room_exists() then fail('room_not_found') end
  local raw = redis.call('HGET', K_TICKETS, ARGV[9])
  if not raw then fail('unauthorized') end
  redis.call('HDEL', K_TICKETS, ARGV[9])
  local uid, expires = string.match(raw, '^(%S+) (%d+)$')
  if tonumber(expires) <= NOW or not get_member(uid) then fail('unauthorized') end
  return uid
end

local uid = member_id()
local events, followups = {}, {}
if uid == ARGV[10] and ARGV[11] == channel() then
  lease_open(uid, ARGV[11], ARGV[12], ARGV[13], ARGV[14], events, followups)
end
return result(200, uid, events, followups)
