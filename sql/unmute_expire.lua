-- unmute_expire.lua: pushd's check when a member's timed mute should end.  ARGV 9 user id
-- Chat and typing compare the mute with NOW already (lib.lua's is_muted), so nothing depends
-- on this running on time; it tells everyone: the stored mute is cleared and user.muted
-- {muted: false} goes out. A member unmuted, re-muted for longer or gone meanwhile is left
-- alone (a later mute schedules its own check).
if not room_exists() then return result(200, '') end
local m = get_member(ARGV[9])
if not m or not m.muted or not m.mutedUntil or m.mutedUntil > NOW then return result(200, '') end
m.muted, m.mutedUntil = nil, nil
put_member(m)
return result(200, '', {envelope('user.muted', next_seq(),
  cjson.encode({userId = m.id, muted = false, ['until'] = cjson.null}))})
