-- timeout.lua: pushd's presence check for one member.  ARGV 9 user id
-- Removes the member (user.left, reason timeout) when it has had no subscription for the
-- whole grace period; a member who came back is left alone; one whose grace is not over yet
-- gets its timer set again.
if not room_exists() then return result(200, '') end
local m = get_member(ARGV[9])
if not m or (m.conns or 0) > 0 then return result(200, '') end
local deadline = math.max(m.offlineSince or m.joinedAt, m.pollSeen or 0) + GRACE_MS
if NOW < deadline then
  return result(200, '', {}, {presence_timer(m.id, deadline)})
end
local events = {}
local gone = remove_member(m, 'timeout', events)
if not gone then touch() end
return result(200, '', events, removal_followups(gone))
