-- sync_beacon.lua: pushd's periodic video.sync for a playing room (does not advance seq).
-- One beacon is pending per playing room (lib.lua sync_timer: fields syncAt and syncNext).
-- Due before syncNext (playback changed since it was scheduled, and the change reached the
-- viewers itself), it moves there without sending; else it sends and schedules the next one
-- an interval later. A stale entry (a later one is pending) does nothing; a paused or gone
-- room drops out.
if not room_exists() then return result(200, '') end
local raw = redis.call('HGET', K_ROOM, 'video')
if not raw or not cjson.decode(raw).playing then
  redis.call('HDEL', K_ROOM, 'syncAt', 'syncNext')
  return result(200, '')
end
local due = redis.call('HMGET', K_ROOM, 'syncAt', 'syncNext')
local pending, at = tonumber(due[1]), tonumber(due[2]) or NOW
if pending and pending > NOW then return result(200, '') end
local events = {}
if at <= NOW then
  events[1] = envelope('video.sync', current_seq(), '{"video":' .. raw .. '}')
  at = NOW + SYNC_INTERVAL_MS
end
redis.call('HSET', K_ROOM, 'syncAt', at, 'syncNext', at)
return result(200, '', events, {timer('sync', at, room_id())})
