-- chat_get.lua: the last 20 messages, oldest first. Returns 200 {messages}.
authenticate()
return result(200, '{"messages":' .. chat_json() .. '}')
