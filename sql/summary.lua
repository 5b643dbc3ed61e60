-- summary.lua: what anyone may know about a room: that it exists, how many are in it, whether
-- a video is set. Returns 200 {id, exists, userCount, hasVideo}.
if not room_exists() then fail('room_not_found') end
local has_video = redis.call('HEXISTS', K_ROOM, 'video') == 1
return result(200, '{"id":"' .. room_id() .. '","exists":true,"userCount":' ..
  int(redis.call('HLEN', K_MEMBERS)) .. ',"hasVideo":' .. tostring(has_video) .. '}')
