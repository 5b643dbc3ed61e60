-- leave.lua: the caller leaves. Returns 204, user.left (+ user.promoted on hand-off, or
-- room.closed when the room is now empty and deleted).
local m = authenticate()
local events = {}
if remove_member(m, 'left', events) then
  return result(204, '', events, {'SREM active-rooms ' .. room_id()})
end
touch()
return result(204, '', events)
