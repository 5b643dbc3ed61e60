-- password_gate.lua: before a join with a password, the room's password hash for the worker
-- to verify against, with the attempt counted first so that the slow check (crypto_pwhash:
-- 30-35 ms of CPU and 19 MiB each, measured) runs at most PASSWORD_ATTEMPTS times per window
-- per room and client address, however many requests arrive at once.
-- ARGV 9 the client address's limit key
-- Returns 200 with the crypto_pwhash_str as body ('' when the room has no password: nothing
-- counted), or 429 with the seconds until the window ends. The body goes to the worker only.
-- banned, room_locked, room_not_found as join.lua.
local addr = ARGV[9]
check_admission(addr)
local hash = redis.call('HGET', K_ROOM, 'pwhash')
if not hash then return result(200, '') end
local field = password_field(addr)
local start, count = window_count(field, PASSWORD_WINDOW_MS)
if count >= PASSWORD_ATTEMPTS then
  return result(429, int(math.ceil((start + PASSWORD_WINDOW_MS - NOW) / 1000)))
end
window_set(field, start, count + 1)
return result(200, hash)
