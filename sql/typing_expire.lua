-- typing_expire.lua: pushd's typing check for one member.  ARGV 9 user id
-- Publishes typing false for a member whose typing indicator ran out without a stop.
if not room_exists() then return result(200, '') end
local m = get_member(ARGV[9])
if not m or not m.typingUntil then return result(200, '') end
if m.typingUntil > NOW then
  return result(200, '', {}, {timer('typing', m.typingUntil, room_id() .. '|' .. m.id)})
end
m.typingUntil = nil
put_member(m)
return result(200, '', {envelope('typing', current_seq(), cjson.encode({userId = m.id,
  userName = m.name, typing = false}))})
