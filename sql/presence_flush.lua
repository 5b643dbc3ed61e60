-- presence_flush.lua: pushd's timer 'pflush' (entry: the room): announces the presence changes
-- that waited (lib.lua's announce_presence) in one user.presence event: {userId, online} when
-- one member waited, {users: [{userId, online}...]} when several did, each with its state now
-- (a member who flipped twice is announced once; one removed meanwhile, not at all).
-- Returns 204 and the event, or nothing when nothing waits (a flush that ran already).
if not room_exists() then return result(204, '') end
local pending = redis.call('HGET', K_ROOM, 'presencePending')
if not pending then return result(204, '') end
redis.call('HDEL', K_ROOM, 'presencePending')
redis.call('HSET', K_ROOM, 'presenceAt', int(NOW))
return result(204, '', {presence_event(pending)})
