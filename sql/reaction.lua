-- reaction.lua: a member reacts with an emoji (from the fixed set, checked by the worker).
-- ARGV 9 emoji
-- Returns 204 and a reaction event, not stored and not advancing seq (like typing); at most
-- REACTIONS per REACTION_WINDOW_MS per member, then 429.
local REACTIONS = 5
local REACTION_WINDOW_MS = 2000
local m = authenticate()
local field = m.id .. '|reaction'
local start, count = window_count(field, REACTION_WINDOW_MS)
if count >= REACTIONS then fail('rate_limited') end
window_set(field, start, count + 1)
return result(204, '', {envelope('reaction', current_seq(), cjson.encode({userId = m.id,
  emoji = ARGV[9]}))})
