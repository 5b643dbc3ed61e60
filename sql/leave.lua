-- leave.lua: the caller leaves. Returns 204 and user.left (+ user.promoted on hand-off, or
-- room.closed when the room is now empty and deleted), then closes the room's channel so no
-- connection of the leaver keeps receiving events.
return remove_and_close(authenticate(), 'left')
