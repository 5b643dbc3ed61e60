-- promote.lua: a host makes another member host.  ARGV 9 target user id
-- Returns 204 and user.promoted (nothing when the target already is host). A mute ends.
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local target = get_member(ARGV[9])
if not target then fail('user_not_found') end
if target.isHost then return result(204, '') end
target.isHost = true
target.muted, target.mutedUntil = nil, nil -- hosts are never muted
put_member(target)
local event = envelope('user.promoted', next_seq(), cjson.encode({userId = target.id}))
touch()
return result(204, '', {event})
