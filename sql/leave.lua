-- leave.lua: the caller leaves. Returns 204, user.left (+ user.promoted on hand-off, or
-- room.closed when the room is now empty and deleted), then closes the room's channel so no
-- connection of the leaver keeps receiving events.
local m = authenticate()
local events = {}
if remove_member(m, 'left', events) then
  return result(204, '', events, {'SREM active-rooms ' .. room_id(), 'CLOSE ' .. channel()})
end
touch()
local old = channel()
local close = rotate_channel()
pinned_channel = old -- the events still go where the leaver's other tabs listen
return result(204, '', events, {close})
