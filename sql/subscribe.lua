-- subscribe.lua: authorizes an event subscription. Returns 200 with the member's id as body
-- (and, like every room script, the channel to subscribe to).
local m = authenticate()
return result(200, m.id)
