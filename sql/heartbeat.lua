-- heartbeat.lua: pushd's periodic pass over one id of active-rooms (does not advance seq).
-- A room whose state expired loses its leftover keys and leaves the index: the same sweep
-- that sends the heartbeats collects the dead rooms, so that an idle room costs one call per
-- period, not one per pass of each.
-- ARGV 9 the heartbeat period (ms), which clients use to tell a silent channel from a quiet one:
-- after an nginx worker died, subscribers of the channels it owned can stay connected and hear
-- nothing (nchan #477), and only the client can notice. Returns 200 and the heartbeat event.
-- Every instance's pushd runs it for every room: the first within half a period publishes and
-- notes the time in the room hash (`heartbeatAt`), the others find it recent and publish
-- nothing, so a room hears one heartbeat per period whatever the number of instances.
if not room_exists() then
  delete_room()
  return result(200, '', {}, {'unindex ' .. room_id()})
end
local every = int(tonumber(ARGV[9]))
if NOW - (tonumber(redis.call('HGET', K_ROOM, 'heartbeatAt')) or 0) < every / 2 then
  return result(200, '')
end
redis.call('HSET', K_ROOM, 'heartbeatAt', int(NOW))
return result(200, '', {envelope('heartbeat', current_seq(), '{"every":' .. every .. '}')})
