-- unban.lua: a host lifts a ban.  ARGV 9 ban id
-- Returns 204; ban_not_found.
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
if redis.call('HDEL', K_BANS, ARGV[9]) == 0 then fail('ban_not_found') end
touch()
return result(204, '')
