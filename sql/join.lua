-- join.lua: a new member.
-- ARGV 9 user id  10 name  11 lower-case name  12 member limit  13 the client address's limit
--      key  14 the password hash the worker verified the given password against ('' when none
--      was given)
-- A room with a password admits only a join whose verified hash is still the room's (a host
-- may have changed it since password_gate.lua read it: then the password was the old one).
-- Returns 201 {userId, room, chat} (the caller adds the token) and user.joined (coalesced per
-- room with the other joins and presence changes of its 100 ms window: lib.lua's announce); banned,
-- room_locked, password_required, wrong_password, name_taken, room_full.
local addr, verified = ARGV[13] or '', ARGV[14] or ''
check_admission(addr)
local hash = redis.call('HGET', K_ROOM, 'pwhash')
if hash then
  if verified == '' then fail('password_required') end
  if verified ~= hash then fail('wrong_password') end
end
if redis.call('HEXISTS', K_NAMES, ARGV[11]) == 1 then fail('name_taken') end
if redis.call('HLEN', K_MEMBERS) >= tonumber(ARGV[12]) then fail('room_full') end
if hash then -- the password was right: its attempt does not count against the address
  local field = password_field(addr)
  local start, count = window_count(field, PASSWORD_WINDOW_MS)
  if count > 0 then window_set(field, start, count - 1) end
end
local uid = ARGV[9]
local m = {id = uid, name = ARGV[10], key = ARGV[11], tok = TOKEN, isHost = false,
           joinedAt = NOW, order = redis.call('HINCRBY', K_ROOM, 'order', 1), online = false,
           conns = 0, addr = addr}
put_member(m)
redis.call('HSET', K_NAMES, ARGV[11], uid)
redis.call('HSET', K_AUTH, TOKEN, uid)
local events, followups = {}, {presence_timer(uid, NOW + GRACE_MS)}
announce(true, m, events, followups)
touch()
return result(201, '{"userId":"' .. uid .. '","room":' .. room_json() .. ',"chat":' ..
  chat_json() .. '}', events, followups)
