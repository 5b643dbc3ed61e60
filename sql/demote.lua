-- demote.lua: a host takes the host role from a member (itself included), as long as another
-- host remains.  ARGV 9 target user id
-- Returns 204 and user.demoted {userId} (nothing when the target is no host); last_host when
-- the target is the room's only host.
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local target = get_member(ARGV[9])
if not target then fail('user_not_found') end
if not target.isHost then return result(204, '') end
local hosts = 0
for _, o in ipairs(sorted_members()) do
  if o.isHost then hosts = hosts + 1 end
end
if hosts < 2 then fail('last_host') end
target.isHost = false
put_member(target)
local event = envelope('user.demoted', next_seq(), cjson.encode({userId = target.id}))
touch()
return result(204, '', {event})
