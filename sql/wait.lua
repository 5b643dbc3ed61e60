-- wait.lua: pushd's wait-for-everyone check for a room (timers:wait, entry ROOM).
-- Not waiting: when waitForAll is on, the room plays (a scheduled start is past) and members
-- online have been buffering for WAIT_AFTER_MS, pauses the room at the authoritative position
-- (room.waiting {userIds}, then video.pause) and checks again at the WAIT_MAX_MS deadline;
-- when some have buffered for less, checks again when the first of them would qualify.
-- Waiting: at the deadline, or when nobody it waits for is still buffering online, resumes
-- (lib.lua's wait_resume). Running twice, or late, is harmless: every step re-reads the state.
if not room_exists() then return result(200, '') end
local since = tonumber(redis.call('HGET', K_ROOM, 'waitingSince'))
if since then
  if NOW < since + WAIT_MAX_MS and #buffering_members(NOW) > 0 then
    return result(200, '', {}, {timer('wait', since + WAIT_MAX_MS, room_id())})
  end
  local event, followup = wait_resume()
  return result(200, '', {event}, {followup})
end
local raw = redis.call('HGET', K_ROOM, 'video')
if not raw or not wait_for_all() then return result(200, '') end
local video = cjson.decode(raw)
if not video.playing then return result(200, '') end
-- A scheduled start still ahead: players wait for it, which is no stall; look again after it.
if video.updatedAt > NOW then
  return result(200, '', {}, {timer('wait', video.updatedAt + WAIT_AFTER_MS, room_id())})
end
local slow, later = buffering_members(NOW - WAIT_AFTER_MS)
if #slow == 0 then
  if later then return result(200, '', {}, {timer('wait', later + WAIT_AFTER_MS, room_id())}) end
  return result(200, '')
end
video.playing = false
video.position = video.position + (NOW - video.updatedAt) / 1000 * video.rate
video.updatedAt = NOW
local json = cjson.encode(video)
redis.call('HSET', K_ROOM, 'video', json)
redis.call('HSET', K_ROOM, 'waiting', cjson.encode(slow), 'waitingSince', int(NOW))
local events = {
  envelope('room.waiting', next_seq(), '{"userIds":' .. cjson.encode(slow) .. '}'),
  envelope('video.pause', next_seq(), '{"video":' .. json .. '}'),
}
touch()
return result(200, '', events, {timer('wait', NOW + WAIT_MAX_MS, room_id())})
