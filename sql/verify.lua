-- verify.lua: pushd's check of a room's leases against the streams nchan still holds (lib.lua's
-- verify_soon asks for it after every open; nchan 1.3.6 can lose the unsubscribe hook of a
-- stream closed while its subscribe hook ran). Two steps around nchan's answer:
-- ARGV 9 'list': returns 200 with the body 'CHANNEL CID...', the room's current channel and
--   the connection ids of its leases on it (just 'CHANNEL' when none). pushd then asks nchan
--   which subscribers of CHANNEL answer (their connection ids), and only for these leases: a
--   lease opened after the list is not judged by that answer.
-- ARGV 9 'close'  10 CHANNEL  11 the listed ids that nchan did not return, space-separated:
--   a lease missing for the first time becomes a suspect (the room hash's field
--   verifySuspects, 'cid=ms' with when it was first missed) and is checked again VERIFY_MS
--   later; one missing from every check for VERIFY_CONFIRM_MS is closed as its unsubscribe
--   hook would have closed it (end_stream: its place, its member's count, the grace period).
--   A live stream answers within milliseconds, so slow answers never close it, nor a few
--   seconds in which nchan's answers do not get through (its Redis storage during a failover
--   answered for some streams and not others). Leases closed or moved meanwhile are left
--   alone.
-- Returns 200 with the number of leases closed as body.
local op = ARGV[9]
if not room_exists() then return result(200, op == 'list' and '' or '0') end
local chan = channel()

if op == 'list' then
  local ids = {chan}
  local leases = redis.call('HGETALL', K_LEASES)
  for i = 1, #leases, 2 do
    if lease_channel(leases[i + 1]) == chan then ids[#ids + 1] = leases[i] end
  end
  return result(200, table.concat(ids, ' '))
end

-- op == 'close'
local events, followups, closed, suspects = {}, {}, 0, {}
local VERIFY_CONFIRM_MS = 3 * VERIFY_MS
local since = {}
for cid, ms in string.gmatch(redis.call('HGET', K_ROOM, 'verifySuspects') or '', '(%S+)=(%d+)') do
  since[cid] = tonumber(ms)
end
if ARGV[10] == chan then
  for cid in string.gmatch(ARGV[11] or '', '%S+') do
    local lease = redis.call('HGET', K_LEASES, cid)
    if lease and lease_channel(lease) == chan then
      if since[cid] and NOW - since[cid] >= VERIFY_CONFIRM_MS then
        end_stream(cid, lease, events, followups)
        closed = closed + 1
      else
        suspects[#suspects + 1] = cid .. '=' .. (since[cid] or NOW)
      end
    end
  end
end
if #suspects > 0 then
  redis.call('HSET', K_ROOM, 'verifySuspects', table.concat(suspects, ' '))
  verify_soon(followups)
else
  redis.call('HDEL', K_ROOM, 'verifySuspects')
end
return result(200, tostring(closed), events, followups)
