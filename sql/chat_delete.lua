-- chat_delete.lua: a member deletes one of its own messages, or a host anyone's.
-- ARGV 9 message id
-- The message leaves the history (chat:{id}). Returns 204 and chat.deleted {id};
-- message_not_found (not in the history), not_host (another member's message).
local m = authenticate()
rate_limit(m.id, 'chat', CHAT_RATE)
local id = tonumber(ARGV[9])
for _, raw in ipairs(redis.call('LRANGE', K_CHAT, 0, -1)) do
  local message = cjson.decode(raw)
  if message.id == id then
    if message.userId ~= m.id then require_host(m) end
    redis.call('LREM', K_CHAT, 1, raw)
    touch()
    return result(204, '', {envelope('chat.deleted', next_seq(), '{"id":' .. int(id) .. '}')})
  end
end
fail('message_not_found')
