-- kick.lua: a host removes a member and revokes its token.  ARGV 9 target user id
-- Returns 204 and user.left with reason kicked (+ hand-off or room.closed as leave.lua).
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local target = get_member(ARGV[9])
if not target then fail('user_not_found') end
local events = {}
if remove_member(target, 'kicked', events) then
  return result(204, '', events, {'SREM active-rooms ' .. room_id(), 'CLOSE ' .. channel()})
end
touch()
local old = channel()
local close = rotate_channel()
pinned_channel = old -- the kicked member hears its own user.left, then is disconnected
return result(204, '', events, {close})
