-- admin_room.lua: wnc-admin's read-only view of one room, for the operator (no member token):
-- it changes nothing, not even the room's TTLs, and publishes nothing.
-- ARGV 9 'full' (the members too) or 'counts'
-- Returns a flat list of strings rather than result() (there is nothing to publish):
--   createdAt, seq, channel, chat length, streams (open leases: WebSocket and EventSource
--   subscriptions), members, online members, the number of video fields (0 without a video,
--   else 7) and those fields: url, kind, YouTube id ('' when none), playing ('1' or '0'),
--   position, rate, updatedAt; then, for 'full', six strings per member, hosts first then in
--   join order: id, name, isHost ('1' or '0'), online ('1' or '0'), joinedAt, streams.
-- room_not_found when the room does not exist.
if not room_exists() then fail('room_not_found') end
local full = ARGV[9] == 'full'
local members = sorted_members()
local online, streams = 0, 0
for _, m in ipairs(members) do
  if m.online then online = online + 1 end
end
for _, lease in ipairs(redis.call('HVALS', K_LEASES)) do
  if lease ~= '-' then streams = streams + 1 end
end
local meta = redis.call('HMGET', K_ROOM, 'createdAt', 'seq', 'video')
local out = {meta[1] or '0', meta[2] or '0', channel(), int(redis.call('LLEN', K_CHAT)),
             int(streams), int(#members), int(online)}
if meta[3] then
  local v = cjson.decode(meta[3])
  out[#out + 1] = '7'
  out[#out + 1] = v.url
  out[#out + 1] = v.kind
  out[#out + 1] = type(v.videoId) == 'string' and v.videoId or ''
  out[#out + 1] = v.playing and '1' or '0'
  out[#out + 1] = tostring(v.position)
  out[#out + 1] = tostring(v.rate)
  out[#out + 1] = int(v.updatedAt)
else
  out[#out + 1] = '0'
end
if full then
  for _, m in ipairs(members) do
    out[#out + 1] = m.id
    out[#out + 1] = m.name
    out[#out + 1] = m.isHost and '1' or '0'
    out[#out + 1] = m.online and '1' or '0'
    out[#out + 1] = int(m.joinedAt)
    out[#out + 1] = int(m.conns or 0)
  end
end
return out
