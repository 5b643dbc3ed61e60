-- buffering.lua: a member's player reports that it is buffering, or ready again.
-- ARGV 9 '1' (buffering) or '0' (ready)  10 position (s, informative)
-- Ephemeral: no event of its own, seq unchanged. A member buffering while the room plays with
-- waitForAll on asks pushd for the check WAIT_AFTER_MS after the first of them (wait.lua); when the
-- room is waiting and the last member it waits for is ready, it resumes right away (a scheduled
-- start: video.play with updatedAt START_AHEAD_MS ahead). Returns 204.
local m = authenticate()
rate_limit(m.id, 'buffering', CONTROL_RATE)
local buffering = get_buffering()
local events, followups = {}, {}
if ARGV[9] == '1' then
  if buffering[m.id] then return result(204, '') end
  buffering[m.id] = NOW
  put_buffering(buffering)
  local raw = redis.call('HGET', K_ROOM, 'video')
  if raw and cjson.decode(raw).playing and wait_for_all() and
     redis.call('HEXISTS', K_ROOM, 'waitingSince') == 0 then
    -- The check for whoever started first (one entry per room: this replaces a pending one).
    local _, first = buffering_members(-1)
    followups[1] = timer('wait', (first or NOW) + WAIT_AFTER_MS, room_id())
  end
else
  if not buffering[m.id] then return result(204, '') end
  buffering[m.id] = nil
  put_buffering(buffering)
  if redis.call('HEXISTS', K_ROOM, 'waitingSince') == 1 and #buffering_members(NOW) == 0 then
    events[1], followups[1] = wait_resume()
  end
end
return result(204, '', events, followups)
