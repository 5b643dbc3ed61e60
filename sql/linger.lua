-- linger.lua: pushd's check, a few seconds after a leave, that the leaver closed its streams.
-- ARGV 9 the departed user id
-- A client that keeps a stream open after leaving would go on hearing the room: then the room
-- moves to a new channel and the old one is closed (everyone reconnects once, as after a
-- kick). Returns 200.
if not room_exists() then return result(200, '') end
if get_member(ARGV[9]) then return result(200, '') end
local prefix = ARGV[9] .. ' '
for _, lease in ipairs(redis.call('HVALS', K_LEASES)) do
  if string.sub(lease, 1, #prefix) == prefix then
    local followups = {}
    retire_channel(followups)
    return result(200, '', {}, followups)
  end
end
return result(200, '')
