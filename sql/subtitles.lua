-- subtitles.lua: a subtitle track (WebVTT or SRT) for the current video.
-- ARGV 9 op: set | clear   10 url  11 label  12 lang (set)
-- Whoever may set the video may attach one (hosts, or anyone when guestsCanChangeVideo); a new
-- video clears it (lib.lua's video_changed). YouTube videos take none: 409 not_supported.
-- set: 200 {subtitles} and video.subtitles; clear: 204 and video.subtitles {subtitles: null}
-- (nothing when there was none).
local m = authenticate()
require_permission(m, 'video')
rate_limit(m.id, 'control', CONTROL_RATE)
local raw = redis.call('HGET', K_ROOM, 'video')
if not raw then fail('no_video') end
if ARGV[9] == 'clear' then
  if redis.call('HDEL', K_ROOM, 'subtitles') == 0 then return result(204, '') end
  touch()
  return result(204, '', {envelope('video.subtitles', next_seq(), '{"subtitles":null}')})
end
if cjson.decode(raw).kind == 'youtube' then fail('not_supported') end
local json = cjson.encode({url = ARGV[10], label = ARGV[11], lang = ARGV[12]})
redis.call('HSET', K_ROOM, 'subtitles', json)
touch()
return result(200, '{"subtitles":' .. json .. '}',
  {envelope('video.subtitles', next_seq(), '{"subtitles":' .. json .. '}')})
