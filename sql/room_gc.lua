-- room_gc.lua: pushd's check of one id from active-rooms. A room whose state expired loses
-- its leftover keys and leaves the index.
if room_exists() then return result(200, '') end
redis.call('DEL', K_MEMBERS, K_NAMES, K_AUTH, K_CHAT, K_LIMITS, K_USERS)
return result(200, '', {}, {'SREM active-rooms ' .. room_id()})
