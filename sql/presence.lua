-- presence.lua: a subscription of a member opened (+1) or closed (-1), or a long-poll request
-- arrived (0: nchan fires no hooks for long-poll, so each poll keeps the member online for
-- another grace period).
-- ARGV 9 user id  10 delta
-- Several tabs are one member online: only the first open and the last close change presence
-- (user.presence). The last close starts the grace period (a timer pushd runs).
if not room_exists() then return result(204, '') end
local m = get_member(ARGV[9])
if not m then return result(204, '') end
local was = m.conns or 0
local delta = tonumber(ARGV[10])
m.conns = math.max(0, was + delta)
local events, followups = {}, {}
if delta == 0 then
  m.pollSeen = NOW
  if not m.online then
    m.online = true
    events[1] = envelope('user.presence', next_seq(), cjson.encode({userId = m.id, online = true}))
  end
  followups[1] = presence_timer(m.id, NOW + GRACE_MS)
elseif was == 0 and m.conns > 0 then
  m.online, m.offlineSince = true, nil
  events[1] = envelope('user.presence', next_seq(), cjson.encode({userId = m.id, online = true}))
elseif was > 0 and m.conns == 0 then
  m.online, m.offlineSince = false, NOW
  events[1] = envelope('user.presence', next_seq(), cjson.encode({userId = m.id, online = false}))
  followups[1] = presence_timer(m.id, NOW + GRACE_MS)
end
put_member(m)
touch()
return result(204, '', events, followups)
