-- bans.lua: the room's bans, for its hosts, oldest first.
-- Returns 200 {bans: [{id, name, createdAt}]} (never the address).
local m = authenticate()
require_host(m)
rate_limit(m.id, 'control', CONTROL_RATE)
local bans = {}
for _, raw in ipairs(redis.call('HVALS', K_BANS)) do
  local b = cjson.decode(raw)
  bans[#bans + 1] = {id = b.id, name = b.name, createdAt = b.createdAt}
end
table.sort(bans, function(a, b) return a.id < b.id end)
if #bans == 0 then return result(200, '{"bans":[]}') end
return result(200, cjson.encode({bans = bans}))
