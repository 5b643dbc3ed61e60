-- room_gc.lua: pushd's check of one id from active-rooms. A room whose state expired loses
-- its leftover keys and leaves the index.
if room_exists() then return result(200, '') end
redis.call('DEL', unpack(KEYS, 1, ROOM_KEYS))
return result(200, '', {}, {'unindex ' .. room_id()})
