-- video.lua: a host (or a guest the settings allow: guestsCanChangeVideo for set,
-- guestsCanControl for the rest) changes playback.
-- ARGV 9 op: set | play | pause | seek | rate   10 url (set) or number   11 kind (set)
--      12 YouTube id or '' (set)
-- The server's clock stamps updatedAt. Returns 200 {video} and video.<op>; while playing,
-- schedules the next video.sync beacon unless one is pending (lib.lua sync_timer).
local m = authenticate()
local op = ARGV[9]
require_permission(m, op == 'set' and 'video' or 'control')
rate_limit(m.id, 'control', CONTROL_RATE)
local video
if op == 'set' then
  video = {url = ARGV[10], kind = ARGV[11], videoId = cjson.null, playing = false,
           position = 0, rate = 1, updatedAt = NOW}
  if ARGV[12] ~= '' then video.videoId = ARGV[12] end
  video_changed()
else
  -- Any playback action ends a wait for buffering members (wait.lua).
  redis.call('HDEL', K_ROOM, 'waiting', 'waitingSince')
  local raw = redis.call('HGET', K_ROOM, 'video')
  if not raw then fail('no_video') end
  video = cjson.decode(raw)
  local value = tonumber(ARGV[10])
  if op == 'play' then
    video.playing, video.position = true, value
  elseif op == 'pause' then
    video.playing, video.position = false, value
  elseif op == 'seek' then
    video.position = value
  elseif op == 'rate' then
    -- Keep the timeline continuous: re-anchor at the current position, then change speed.
    -- A scheduled start (updatedAt ahead) has not moved yet.
    if video.playing then
      video.position = video.position + math.max(0, NOW - video.updatedAt) / 1000 * video.rate
    end
    video.rate = value
  else
    fail('invalid_field')
  end
  video.updatedAt = NOW
end
local json = cjson.encode(video)
redis.call('HSET', K_ROOM, 'video', json)
local event = envelope('video.' .. op, next_seq(), '{"video":' .. json .. '}')
touch()
return result(200, '{"video":' .. json .. '}', {event}, {video.playing and sync_timer() or nil})
