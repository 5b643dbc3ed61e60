-- settings.lua: a host changes the room's settings (PATCH .../settings).
-- ARGV 9..12 locked, guestsCanControl, guestsCanChangeVideo, waitForAll: '1' on, '0' off, ''
--      unchanged   13 the password: '' unchanged, '-' removed, else its new crypto_pwhash_str
--      (the worker hashed it; the password itself never reaches Redis)   14 'check': only
--      whether the caller is a host within its limit (204), which the worker asks before it
--      spends a slow hash on a new password
-- Returns 200 {settings} and room.settings {settings} (hasPassword, never the password).
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
if ARGV[14] == 'check' then return result(204, '') end
for i, name in ipairs(SETTING_FLAGS) do
  local v = ARGV[8 + i]
  if v == '1' then
    redis.call('HSET', K_ROOM, name, '1')
  elseif v == '0' then
    redis.call('HDEL', K_ROOM, name)
  end
end
if ARGV[13] == '-' then
  redis.call('HDEL', K_ROOM, 'pwhash')
elseif ARGV[13] ~= '' then
  redis.call('HSET', K_ROOM, 'pwhash', ARGV[13])
end
local json = '{"settings":' .. cjson.encode(room_settings()) .. '}'
touch()
return result(200, json, {envelope('room.settings', next_seq(), json)})
