-- heartbeat.lua: pushd's periodic sign of life on a room's channel (does not advance seq).
-- ARGV 9 the heartbeat period (ms), which clients use to tell a silent channel from a quiet one:
-- after an nginx worker died, subscribers of the channels it owned can stay connected and hear
-- nothing (nchan #477), and only the client can notice. Returns 200 and the heartbeat event.
if not room_exists() then return result(200, '') end
return result(200, '', {envelope('heartbeat', current_seq(), '{"every":' .. int(tonumber(ARGV[9])) .. '}')})
