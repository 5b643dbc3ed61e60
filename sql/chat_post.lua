-- chat_post.lua: a member posts a message (already trimmed and validated).  ARGV 9 text
-- Returns 201 {message} and chat.message; chat:{id} keeps the last 20.
local m = authenticate()
if is_muted(m) then fail('muted') end
rate_limit(m.id, 'chat', CHAT_RATE)
local seq = next_seq()
local message = cjson.encode({id = seq, userId = m.id, userName = m.name, text = ARGV[9],
                              ts = NOW})
redis.call('RPUSH', K_CHAT, message)
redis.call('LTRIM', K_CHAT, -20, -1)
if m.typingUntil then
  m.typingUntil = nil
  put_member(m)
end
touch()
return result(201, '{"message":' .. message .. '}', {envelope('chat.message', seq,
  '{"message":' .. message .. '}')})
