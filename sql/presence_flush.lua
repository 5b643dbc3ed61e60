-- presence_flush.lua: pushd's timer 'pflush' (entry: the room): announces the joins and
-- presence changes that waited (lib.lua's announce) in at most two events, user.joined first:
-- data {user} / {userId, online} when one member waited, {users: [...]} when several did, each
-- as it is now (a member who flipped twice is announced once; one removed meanwhile, not at
-- all). Returns 204 and the events, or nothing when nothing waits (a flush that ran already).
if not room_exists() then return result(204, '') end
local joins, presence = pending_announcements()
if not joins and not presence then return result(204, '') end
local events = {}
send_announcements(events, joins, presence)
return result(204, '', events)
