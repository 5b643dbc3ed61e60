-- join.lua: a new member.
-- ARGV 9 user id  10 name  11 lower-case name  12 member limit
-- Returns 201 {userId, room, chat} (the caller adds the token) and user.joined.
if not room_exists() then fail('room_not_found') end
if redis.call('HEXISTS', K_NAMES, ARGV[11]) == 1 then fail('name_taken') end
if redis.call('HLEN', K_MEMBERS) >= tonumber(ARGV[12]) then fail('room_full') end
local uid = ARGV[9]
local m = {id = uid, name = ARGV[10], key = ARGV[11], tok = TOKEN, isHost = false,
           joinedAt = NOW, order = redis.call('HINCRBY', K_ROOM, 'order', 1), online = false,
           conns = 0}
put_member(m)
redis.call('HSET', K_NAMES, ARGV[11], uid)
redis.call('HSET', K_AUTH, TOKEN, uid)
local event = envelope('user.joined', next_seq(), cjson.encode({user = public_user(m)}))
touch()
return result(201, '{"userId":"' .. uid .. '","room":' .. room_json() .. ',"chat":' ..
  chat_json() .. '}', {event}, {presence_timer(uid, NOW + GRACE_MS)})
