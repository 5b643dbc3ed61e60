-- rename.lua: a member changes its own name (PATCH .../users/me).
-- ARGV 9 the new name  10 its lower-case form (the uniqueness key)
-- Same rules as a join: unique in the room (name_taken), but a member may change the case of
-- its own name. Messages already sent keep the name they were sent under.
-- Returns 200 {user} and user.renamed {userId, userName}.
local m = authenticate()
rate_limit(m.id, 'control', CONTROL_RATE)
local owner = redis.call('HGET', K_NAMES, ARGV[10])
if owner and owner ~= m.id then fail('name_taken') end
redis.call('HDEL', K_NAMES, m.key)
redis.call('HSET', K_NAMES, ARGV[10], m.id)
m.name, m.key = ARGV[9], ARGV[10]
put_member(m)
touch()
return result(200, cjson.encode({user = public_user(m)}), {envelope('user.renamed', next_seq(),
  cjson.encode({userId = m.id, userName = m.name}))})
