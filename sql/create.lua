-- create.lua: a new room with its creator as host.
-- ARGV 9 user id  10 name  11 lower-case name  12 the client address's limit key
-- Returns 201 {roomId, userId, room} (the caller adds the token); room_exists on an id
-- collision (the caller draws another id).
if room_exists() then fail('room_exists') end
local uid = ARGV[9]
redis.call('HSET', K_ROOM, 'createdAt', int(NOW), 'seq', 0, 'order', 1, 'epoch', 1)
forget_room_head()
put_member({id = uid, name = ARGV[10], key = ARGV[11], tok = TOKEN, isHost = true,
            joinedAt = NOW, order = 1, online = false, conns = 0, addr = ARGV[12] or ''})
redis.call('HSET', K_NAMES, ARGV[11], uid)
redis.call('HSET', K_AUTH, TOKEN, uid)
touch()
return result(201, '{"roomId":"' .. room_id() .. '","userId":"' .. uid .. '","room":' ..
  room_json() .. '}', {}, {'index ' .. room_id(), presence_timer(uid, NOW + GRACE_MS)})
