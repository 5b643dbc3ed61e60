-- presence.lua: a subscription of a member opened (+1) or closed (-1), or a long-poll request
-- arrived (0: nchan fires no hooks for long-poll, so each poll keeps the member online for
-- another grace period).
-- ARGV 9 user id  10 delta  11 the subscription's channel
-- A close on a retired channel (leave/kick moved the room to a new one and closed the old, so
-- every member is reconnecting) counts the connection but announces nothing: the member is
-- back in a moment, and if not, the grace timer still removes it.
-- Several tabs are one member online: only the first open and the last close change presence
-- (user.presence). The last close starts the grace period (a timer pushd runs).
if not room_exists() then return result(204, '') end
local m = get_member(ARGV[9])
if not m then return result(204, '') end
local was = m.conns or 0
local delta = tonumber(ARGV[10])
m.conns = math.max(0, was + delta)
local events, followups = {}, {}
local retired = ARGV[11] ~= nil and ARGV[11] ~= '' and ARGV[11] ~= channel()
if delta == 0 then
  m.pollSeen = NOW
  if not m.online then
    m.online = true
    events[1] = envelope('user.presence', next_seq(), cjson.encode({userId = m.id, online = true}))
  end
  followups[1] = presence_timer(m.id, NOW + GRACE_MS)
elseif was == 0 and m.conns > 0 then
  m.offlineSince = nil
  if not m.online then
    m.online = true
    events[1] = envelope('user.presence', next_seq(), cjson.encode({userId = m.id, online = true}))
  end
elseif was > 0 and m.conns == 0 then
  m.offlineSince = NOW
  followups[1] = presence_timer(m.id, NOW + GRACE_MS)
  if not retired then
    m.online = false
    events[1] = envelope('user.presence', next_seq(), cjson.encode({userId = m.id, online = false}))
  end
end
put_member(m)
touch()
return result(204, '', events, followups)
