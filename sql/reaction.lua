-- reaction.lua: a member reacts with an emoji (from the fixed set, checked by the worker).
-- ARGV 9 emoji
-- Returns 204 and a reaction event, not stored and not advancing seq (like typing); at most
-- REACTIONS per REACTION_WINDOW_MS per member, then 429.
local REACTIONS = 5
local REACTION_WINDOW_MS = 2000
local m = authenticate()
local field = m.id .. '|reaction'
local start, count = NOW, 0
local raw = redis.call('HGET', K_LIMITS, field)
if raw then
  local s, c = string.match(raw, '^(%d+):(%d+)$')
  if NOW - tonumber(s) < REACTION_WINDOW_MS then start, count = tonumber(s), tonumber(c) end
end
if count >= REACTIONS then fail('rate_limited') end
redis.call('HSET', K_LIMITS, field, int(start) .. ':' .. int(count + 1))
return result(204, '', {envelope('reaction', current_seq(), cjson.encode({userId = m.id,
  emoji = ARGV[9]}))})
