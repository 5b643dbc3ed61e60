-- mute.lua: a host mutes or unmutes a member.  ARGV 9 target user id  10 '1' mute, '0' unmute
--      11 minutes ('' until unmuted)
-- A muted member's chat and typing answer muted until then; the mute ends by itself when its
-- time has passed (the scripts compare with NOW), and a timer (unmute_expire.lua) then tells
-- everyone with user.muted {muted: false}. Hosts cannot be muted
-- (target_is_host), and promote.lua lifts a mute.
-- Returns 200 {userId, muted, until} and user.muted with the same (until: ms, or null).
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local target = get_member(ARGV[9])
if not target then fail('user_not_found') end
if target.isHost then fail('target_is_host') end
if ARGV[10] == '1' then
  target.muted = true
  target.mutedUntil = ARGV[11] ~= '' and NOW + tonumber(ARGV[11]) * 60000 or nil
  target.typingUntil = nil -- a muted member no longer types
else
  target.muted, target.mutedUntil = nil, nil
end
put_member(target)
local json = cjson.encode({userId = target.id, muted = target.muted == true,
                           ['until'] = target.mutedUntil or cjson.null})
touch()
local followups = {}
if target.mutedUntil then
  followups[1] = timer('unmute', target.mutedUntil, room_id() .. '|' .. target.id)
end
return result(200, json, {envelope('user.muted', next_seq(), json)}, followups)
