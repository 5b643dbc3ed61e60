-- typing.lua: a member starts or stops typing.  ARGV 9 '1' or '0'
-- Returns 204 and a typing event on each change (not on a refresh); typing does not advance
-- seq. A start schedules the expiry pushd runs if no stop comes.
local m = authenticate()
if is_muted(m) then fail('muted') end
rate_limit(m.id, 'typing', CONTROL_RATE)
local typing = ARGV[9] == '1'
-- What the others believe: typing until a stop or pushd's expiry says otherwise (an indicator
-- past its time but not yet expired by pushd still counts, so a stop then still sends false).
local was = m.typingUntil ~= nil
local followups = {}
if typing then
  m.typingUntil = NOW + TYPING_TTL_MS
  followups[1] = timer('typing', m.typingUntil, room_id() .. '|' .. m.id)
else
  m.typingUntil = nil
end
put_member(m)
local events = {}
if typing ~= was then
  events[1] = envelope('typing', current_seq(), cjson.encode({userId = m.id, userName = m.name,
    typing = typing}))
end
return result(204, '', events, followups)
