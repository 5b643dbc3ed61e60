-- admin_close.lua: an operator closes the room for everyone (wnc-admin close).
-- ARGV 9 the reason, told to clients in room.closed ('closed' unless the operator gave one)
-- Deletes every key of the room, publishes room.closed {reason} on its channel, then the
-- follow-ups take it out of the index and close the channel, so every stream ends at once
-- (after the event). The members' tokens die with the room: their next call gets 404
-- room_not_found, like anyone's. Leases end with their streams (the unsubscribe hooks find no
-- room and release the per-address places), and pushd's timers find nothing to do.
-- Returns 200 with the number of members the room had as the body; room_not_found when there
-- is no such room.
if not room_exists() then fail('room_not_found') end
local members = redis.call('HLEN', K_MEMBERS)
local seq = current_seq() + 1
delete_room()
local events = {envelope('room.closed', seq, cjson.encode({reason = ARGV[9]}))}
return result(200, int(members), events, removal_followups(true))
