-- presence.lua: a member's subscription opened or closed, or a long-poll request arrived.
-- ARGV 9 user id ('' when unknown: a lost connection found by pushd)  10 op: 'open', 'close'
-- or 'poll'  11 the subscription's channel  12 connection id  13 the client address's limit
-- key  14 owner (the nginx worker process holding the connection, 'instance/pid/start')
-- Every WebSocket or EventSource subscription is a lease (see lib.lua): the authorizer (for
-- /events/{channel}) or nchan's subscribe hook (for /events) opens it, its unsubscribe hook
-- closes it, and pushd closes the leases of an nginx worker
-- that died (no hook fires then). Opening or closing the same lease twice changes nothing,
-- and a close that overtakes its open leaves a tombstone so the late open is ignored: counts
-- cannot drift whatever the order or the faults. nchan fires no hooks for long-poll, so each
-- poll ('poll') keeps the member online for another grace period instead.
-- Several tabs are one member online: only the first open and the last close change presence
-- (user.presence, coalesced per room by lib.lua's announce_presence). The last close starts
-- the grace period (a timer pushd runs); lib.lua's end_stream says what a close does. Every
-- open also asks for a check of the room's leases a moment later (lib.lua's verify_soon):
-- nchan can lose the unsubscribe hook of a stream closed while it opened.
-- Returns 204, with the follow-ups that keep the per-address cap and the owner index in step.
local uid, op, chan, cid, ipkey, owner = ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]
local events, followups = {}, {}
local exists = room_exists()

if op == 'poll' then
  local m = exists and get_member(uid)
  if not m then return result(204, '') end
  m.pollSeen = NOW
  set_online(m, events, followups)
  put_member(m)
  touch()
  followups[#followups + 1] = presence_timer(m.id, NOW + GRACE_MS)
  return result(204, '', events, followups)
end

if op == 'open' then
  lease_open(uid, chan, cid, ipkey, owner, events, followups)
  return result(204, '', events, followups)
end

-- op == 'close'
local lease = exists and redis.call('HGET', K_LEASES, cid)
if not lease or lease == '-' then
  if uid == '' then -- pushd sweeping a lease that is already closed
    return result(204, '', {}, {'owner_del ' .. owner .. ' ' .. room_id() .. '|' .. cid})
  end
  if exists and not lease and chan == channel() then
    redis.call('HSET', K_LEASES, cid, '-') -- the open is still on its way
  end
  -- The owner's index may still list it (the room was deleted with its leases).
  return result(204, '', {}, {'subs_release ' .. ipkey .. ' ' .. cid,
    'owner_del ' .. owner .. ' ' .. room_id() .. '|' .. cid})
end
end_stream(cid, lease, events, followups)
return result(204, '', events, followups)
