-- kick.lua: a host removes a member and revokes its token.  ARGV 9 target user id
-- Returns 204 and user.left with reason kicked (+ hand-off, room.closed and the channel close
-- as leave.lua).
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local target = get_member(ARGV[9])
if not target then fail('user_not_found') end
return remove_and_close(target, 'kicked')
