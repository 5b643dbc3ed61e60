-- kick.lua: a host removes a member and revokes its token.  ARGV 9 target user id
-- 10 'ban': also ban the member's address (IPv4, or the IPv6 /64) from rejoining the room, for
-- the room's life or until a host lifts it (bans:{id}; unban.lua)
-- Returns 204 and user.left with reason kicked (+ hand-off, or room.closed). The kicked
-- member's streams must close now, and nchan can only close a whole channel: the room moves
-- to a new channel, user.left goes out on the old one (everyone hears it, in seq order), then
-- the old channel is closed. The others reconnect once, onto the new channel.
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local target = get_member(ARGV[9])
if not target then fail('user_not_found') end
if ARGV[10] == 'ban' then
  local id = redis.call('HINCRBY', K_ROOM, 'banSeq', 1)
  redis.call('HSET', K_BANS, int(id), cjson.encode({id = id, name = target.name,
    createdAt = NOW, addr = target.addr or ''}))
end
local events = {}
local gone = remove_member(target, 'kicked', events)
if gone then return result(204, '', events, removal_followups(true)) end
touch()
local followups = {}
-- The events go out on the channel the kicked member listens to.
pinned_channel = retire_channel(followups)
return result(204, '', events, followups)
