-- summary.lua: what anyone may know about a room: that it exists, how many are in it, whether
-- a video is set, and whether joining needs a password or is refused (so that the join page
-- asks for the password first). Returns 200 {id, exists, userCount, hasVideo, locked,
-- hasPassword}.
if not room_exists() then fail('room_not_found') end
local has_video = redis.call('HEXISTS', K_ROOM, 'video') == 1
local s = room_settings()
return result(200, '{"id":"' .. room_id() .. '","exists":true,"userCount":' ..
  int(redis.call('HLEN', K_MEMBERS)) .. ',"hasVideo":' .. tostring(has_video) ..
  ',"locked":' .. tostring(s.locked) .. ',"hasPassword":' .. tostring(s.hasPassword) .. '}')
