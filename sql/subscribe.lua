-- subscribe.lua: authorizes an event subscription. Returns 200 with the member's id as body.
local m = authenticate()
return result(200, m.id)
