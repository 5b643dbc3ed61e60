-- leave.lua: the caller leaves. Returns 204 and user.left (+ user.promoted on hand-off, or
-- room.closed when the room is now empty and deleted). Nobody else is disconnected: the
-- leaver closes its own streams, and a linger check a few seconds later (linger.lua) retires
-- the channel if one of them is still open, so a departed member cannot keep listening.
local m = authenticate()
local events = {}
local gone = remove_member(m, 'left', events)
local followups = removal_followups(gone)
if not gone then
  touch()
  followups[#followups + 1] = timer('linger', NOW + LINGER_MS, room_id() .. '|' .. m.id)
end
return result(204, '', events, followups)
