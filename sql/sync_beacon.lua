-- sync_beacon.lua: pushd's periodic video.sync for a playing room (does not advance seq).
-- Schedules the next beacon while the room plays; a paused or gone room drops out.
if not room_exists() then return result(200, '') end
local raw = redis.call('HGET', K_ROOM, 'video')
if not raw then return result(200, '') end
local video = cjson.decode(raw)
if not video.playing then return result(200, '') end
return result(200, '', {envelope('video.sync', current_seq(), '{"video":' .. raw .. '}')},
  {timer('sync', NOW + SYNC_INTERVAL_MS, room_id())})
