-- rotate.lua: pushd moves a room to a new channel after an nginx worker of its instance died.
-- nchan 1.3.6 keeps a channel's state in the worker that owns it (by a hash of the channel
-- id): when that worker dies, subscribers of the channel in the other workers stop receiving,
-- new ones too, until a reload (nchan #477, measured here). A new channel id starts clean, and
-- the close of the old one still reaches its subscribers, who reconnect and resync.
-- Returns 200 and the follow-up closing the old channel.
if not room_exists() then return result(200, '') end
local followups = {}
retire_channel(followups)
return result(200, '', {}, followups)
