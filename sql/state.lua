-- state.lua: the full room state for a member (also the answer to a rejoin with a token).
-- Returns 200 {userId, room, chat}.
local m = authenticate()
return result(200, '{"userId":"' .. m.id .. '","room":' .. room_json() .. ',"chat":' ..
  chat_json() .. '}')
