-- lib.lua: helpers shared by the operations. core/script.c assembles one Redis Functions
-- library from the contract it generates, this file, and every other file of sql/ as the body
-- of one registered function ('<file>_<version>'), which calls contract_begin and lib_begin
-- first. Helpers are therefore compiled once per library load, not per call.
--
-- Room operations take KEYS = room:{id}, members:{id}, names:{id}, auth:{id}, chat:{id},
-- limits:{id}, users:{id}, leases:{id}, tickets:{id}, bans:{id} (all in the room's hash slot)
-- and the
-- standard ARGV:
--   1 now (ms)  2 room TTL (s)  3 grace (ms)  4 chat rate  5 control rate  6 typing TTL (ms)
--   7 sync interval (ms)  8 token digest ('' when none); their own arguments start at 9.
-- They return a flat array:
--   status, body, channel, #events, events..., #follow-ups, follow-ups...
-- The events go to the nchan channel named `channel`: '<room>-<epoch>'. The epoch changes only
-- when a host kicks a member: the follow-up 'close <old channel>' makes the caller delete the
-- old channel, which disconnects every subscriber of it; the others reconnect (authorized
-- again onto the new channel), the removed member cannot. A leave or a timeout touches nobody
-- else: the leaver closes its own stream, and linger.lua catches one that does not.
-- Follow-ups are typed, space-separated words that core/exec.c validates before acting, so a
-- script result can never become an arbitrary Redis command:
--   index ROOM | unindex ROOM              active-rooms membership
--   timer KIND AT ENTRY                    ZADD timers:KIND (presence, typing, sync, linger, wait,
--                                          unmute)
--   close CHANNEL                          delete the room's old nchan channel
--   subs_hold IPKEY CID | subs_release IPKEY CID    the per-address subscription cap
--   owner_add OWNER ROOM|CID | owner_del OWNER ROOM|CID   which nginx worker holds a lease
-- Global keys live outside the room's slot; every index entry is a hint that the timer scripts
-- re-check, so running a follow-up late (or twice) is harmless.
-- Failures raise {err = 'WNC <code>'}; the code words are those of core/err.c.
--
-- A member record (members:{id} field = user id) is JSON: id, name, key (lower-case name),
-- tok (token digest), isHost, joinedAt, order (join order), online, conns (open WebSocket and
-- EventSource subscriptions, i.e. its leases), offlineSince, pollSeen, typingUntil, addr (the
-- client address's limit key at join: IPv4, or the IPv6 /64; what a ban holds), muted and
-- mutedUntil (ms, absent: until unmuted). Only id, name, isHost, joinedAt, online and, while
-- muted, muted and mutedUntil are ever sent to clients: users:{id} keeps that public
-- JSON ready, prefixed with a sort key (host flag, join order), so that returning the room
-- costs no JSON work per member on Redis' one thread (joins into big rooms were bound by it).
-- The room hash's field `online` counts the members whose record says online, kept by every
-- flip of that flag (presence.lua) and by remove_member, so that the metrics can add up
-- members online with one read per room.
--
-- A lease (leases:{id} field = connection id) is one open subscription: 'uid channel ipkey
-- owner', where owner names the nginx worker process holding it ('instance/pid/start'). A
-- value '-' is a tombstone: the close of a connection whose open has not arrived yet (the two
-- nchan hooks run on different worker threads), so that the late open is ignored.
-- K_ROOM .. K_BANS (the keys above), NOW, TTL, GRACE_MS, CHAT_RATE, CONTROL_RATE,
-- TYPING_TTL_MS, SYNC_INTERVAL_MS, TOKEN (the standard ARGV), ROOM_KEYS, RATE_WINDOW_MS,
-- LINGER_MS (how long a leaver's client has to close its own streams before linger.lua retires
-- the channel; a well-behaved client closes them at once), USER_SORT_KEY_LEN and USERS_MARK
-- (room_json) are declared by the contract core/script.c generates above this file, from the
-- tables in core/script.h: the constants once, the keys and standard ARGV per call
-- (contract_begin).
local TICKETS_SWEEP_AT = 64
local TICKETS_SWEEP_EVERY_MS = 10000

local function fail(code)
  error({err = 'WNC ' .. code})
end

local function int(n)
  return string.format('%d', n)
end

local function room_id()
  return string.sub(K_ROOM, 7, 12) -- 'room:{ABC123}'
end

-- One request counted in an address's fixed window (rl:{addr}, not a room key; ratelimit.lua
-- and subs_reserve.lua): returns the count in this window and the seconds until it ends.
local function count_request(key, window)
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, window) end
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    redis.call('EXPIRE', key, window)
    ttl = tonumber(window)
  end
  return count, ttl
end

-- The room hash's fields nearly every call reads: its epoch (set from creation on, so it also
-- says whether the room exists) and when its keys were last touched. One HMGET on first use
-- rather than an EXISTS and two HGETs, kept for the call (lib_begin forgets them: a library's
-- locals outlive calls). Whatever changes them keeps them true: create.lua (forget_room_head),
-- retire_channel, touch and delete_room.
local head = nil
local function room_head()
  if not head then
    local v = redis.call('HMGET', K_ROOM, 'epoch', 'touched')
    head = {epoch = v[1], touched = v[2]}
  end
  return head
end
local function forget_room_head()
  head = nil
end
local function room_exists()
  return room_head().epoch ~= false
end

local function get_member(uid)
  local raw = redis.call('HGET', K_MEMBERS, uid)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- Whether m is muted now: a mute with minutes ends by itself when its time has passed.
local function is_muted(m)
  return m.muted == true and (m.mutedUntil == nil or m.mutedUntil > NOW)
end

local function public_user(m)
  local u = {id = m.id, name = m.name, isHost = m.isHost, joinedAt = m.joinedAt, online = m.online}
  if is_muted(m) then u.muted, u.mutedUntil = true, m.mutedUntil or cjson.null end
  return u
end

-- users:{id}'s sort key: the host flag, then the join order in USER_SORT_KEY_LEN - 1 digits.
local USER_ORDER = '%0' .. (USER_SORT_KEY_LEN - 1) .. 'd'
local function put_member(m)
  redis.call('HSET', K_MEMBERS, m.id, cjson.encode(m))
  redis.call('HSET', K_USERS, m.id, (m.isHost and '0' or '1') ..
    string.format(USER_ORDER, m.order) .. cjson.encode(public_user(m)))
end

-- The member the request's token belongs to, or an error.
local function authenticate()
  if not room_exists() then fail('room_not_found') end
  if TOKEN == '' then fail('unauthorized') end
  local uid = redis.call('HGET', K_AUTH, TOKEN)
  local m = uid and get_member(uid)
  if not m then fail('unauthorized') end
  return m
end

local function require_host(m)
  if not m.isHost then fail('not_host') end
end

-- Room settings (issue 16), in the room hash: the flags below ('1' when on, the field absent
-- when off) and pwhash, libsodium's crypto_pwhash_str of the room password, which no answer or
-- event ever carries (only password_gate.lua hands it to the worker, which verifies there).
local SETTING_FLAGS = {'locked', 'guestsCanControl', 'guestsCanChangeVideo', 'waitForAll'}

-- The settings as booleans, for the JSON: {locked, hasPassword, guestsCanControl,
-- guestsCanChangeVideo, waitForAll}.
local function room_settings()
  local v = redis.call('HMGET', K_ROOM, 'pwhash', unpack(SETTING_FLAGS))
  local s = {hasPassword = v[1] ~= false}
  for i, name in ipairs(SETTING_FLAGS) do s[name] = v[i + 1] == '1' end
  return s
end

-- What a guest may do when a host lets them: 'control' (play, pause, seek, rate) or 'video'
-- (set the video; also the queue and subtitles). Hosts may always.
local PERMISSION_FLAGS = {control = 'guestsCanControl', video = 'guestsCanChangeVideo'}
local function require_permission(m, what)
  local flag = PERMISSION_FLAGS[what]
  if not flag then error('require_permission: unknown permission ' .. tostring(what)) end
  if not m.isHost and redis.call('HGET', K_ROOM, flag) ~= '1' then fail('not_host') end
end

-- Members, hosts first, then in join order.
local function sorted_members()
  local list = {}
  for i, raw in ipairs(redis.call('HVALS', K_MEMBERS)) do list[i] = cjson.decode(raw) end
  table.sort(list, function(a, b)
    if a.isHost ~= b.isHost then return a.isHost end
    return a.order < b.order
  end)
  return list
end

-- The room as JSON, but for its users: USERS_MARK stands where they go. The worker reads
-- users:{id} in the same transaction as the call and writes them there, sorted (core/script.h
-- says why; its script_answers_room names the operations that call this).
local function room_json()
  local meta = redis.call('HMGET', K_ROOM, 'createdAt', 'seq', 'video', 'queue', 'subtitles',
    'waiting')
  return '{"id":"' .. room_id() .. '","createdAt":' .. meta[1] .. ',"seq":' .. meta[2] ..
         ',"users":' .. USERS_MARK .. ',"video":' .. (meta[3] or 'null') ..
         ',"settings":' .. cjson.encode(room_settings()) ..
         ',"queue":' .. (meta[4] or '[]') .. ',"subtitles":' .. (meta[5] or 'null') ..
         ',"waiting":' .. (meta[6] or 'null') .. '}'
end

local function chat_json()
  return '[' .. table.concat(redis.call('LRANGE', K_CHAT, 0, -1), ',') .. ']'
end

local function current_seq()
  return tonumber(redis.call('HGET', K_ROOM, 'seq'))
end

local function next_seq()
  return redis.call('HINCRBY', K_ROOM, 'seq', 1)
end

local function envelope(kind, seq, data_json)
  return '{"type":"' .. kind .. '","seq":' .. int(seq) .. ',"at":' .. int(NOW) ..
         ',"data":' .. data_json .. '}'
end

-- Watching together (issue 17), in the room hash: queue (JSON array of items {id, url, kind,
-- videoId, title, addedBy}; '[]' or absent when empty), queueNext (the last item id given),
-- subtitles (JSON {url, label, lang} for the current video; absent when none), buffering (JSON
-- object: user id -> since (ms), the members whose players report buffering), waiting (JSON
-- array of the user ids the room paused for) and waitingSince (ms), both absent unless the room
-- is paused waiting for them.
local QUEUE_MAX = 100
-- A scheduled start: the room starts playing this far ahead, so every player has time to load
-- and seek, and starts on the same frame at updatedAt (in the future).
local START_AHEAD_MS = 3000

local function json_array(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end

-- A JSON field of the room hash, decoded; an empty table when absent.
local function room_json_field(field)
  local raw = redis.call('HGET', K_ROOM, field)
  return raw and cjson.decode(raw) or {}
end

local function get_queue()
  return room_json_field('queue')
end

local function put_queue(q)
  redis.call('HSET', K_ROOM, 'queue', json_array(q))
end

local function get_buffering()
  return room_json_field('buffering')
end

local function put_buffering(b)
  if next(b) == nil then redis.call('HDEL', K_ROOM, 'buffering')
  else redis.call('HSET', K_ROOM, 'buffering', cjson.encode(b)) end
end

-- A new video drops what belonged to the old one: its subtitles and any wait.
local function video_changed()
  redis.call('HDEL', K_ROOM, 'subtitles', 'buffering', 'waiting', 'waitingSince')
end

-- Plays a queue item for everyone, starting START_AHEAD_MS from now. Returns the video JSON
-- and its video.set event.
local function video_start(item)
  local video = {url = item.url, kind = item.kind, videoId = item.videoId or cjson.null,
                 playing = true, position = 0, rate = 1, updatedAt = NOW + START_AHEAD_MS}
  local json = cjson.encode(video)
  video_changed()
  redis.call('HSET', K_ROOM, 'video', json)
  return json, envelope('video.set', next_seq(), '{"video":' .. json .. '}')
end

local function queue_event(q)
  return envelope('queue.updated', next_seq(), '{"queue":' .. json_array(q) .. '}')
end

-- The room's keys live TTL seconds past its last activity, refreshed lazily: at most once per
-- TOUCH_EVERY_MS (or half the TTL when shorter), so that most calls pay one HGET rather than
-- nine EXPIREs (and their AOF lines). A key created between refreshes has no TTL until the
-- next one; if the room goes quiet first, heartbeat.lua deletes it with the expired room.
local TOUCH_EVERY_MS = 60000
local function touch()
  local at = tonumber(room_head().touched or '0')
  if NOW - at < math.min(TOUCH_EVERY_MS, TTL * 500) then return end
  redis.call('HSET', K_ROOM, 'touched', int(NOW))
  head.touched = int(NOW)
  for i = 1, ROOM_KEYS do redis.call('EXPIRE', KEYS[i], TTL) end
end

-- A fixed window counted in the room's limits hash (field = 'start:count'): the window's start
-- and count, a fresh window when the stored one is over.
local function window_count(field, window_ms)
  local raw = redis.call('HGET', K_LIMITS, field)
  if raw then
    local s, c = string.match(raw, '^(%d+):(%d+)$')
    s, c = tonumber(s), tonumber(c)
    if NOW - s < window_ms then return s, c end
  end
  return NOW, 0
end

local function window_set(field, start, count)
  redis.call('HSET', K_LIMITS, field, int(start) .. ':' .. int(count))
end

-- Fixed-window limit per member and action class.
local function rate_limit(uid, class, limit)
  local field = uid .. '|' .. class
  local start, count = window_count(field, RATE_WINDOW_MS)
  if count >= limit then fail('rate_limited') end
  window_set(field, start, count + 1)
end

-- Wrong room passwords per client address (its limit key: IPv4, or the IPv6 /64), counted in
-- the limits hash under 'pw|<addr>'. password_gate.lua counts each attempt before the worker
-- spends a slow hash on it, and a join that the password let in takes its attempt back, so
-- the count is the wrong (or still unfinished) attempts of the window.
local PASSWORD_ATTEMPTS = 5
local PASSWORD_WINDOW_MS = 600000
local function password_field(addr)
  return 'pw|' .. addr
end

-- Bans (bans:{id}): field = ban id, value JSON {id, name, createdAt, addr}; addr is the banned
-- member's address key, which no answer or event carries. A room has few bans: a scan is fine.
local function banned(addr)
  if addr == '' then return false end
  for _, raw in ipairs(redis.call('HVALS', K_BANS)) do
    if cjson.decode(raw).addr == addr then return true end
  end
  return false
end

-- Who may join at all, before names and passwords: not a banned address, not a locked room.
local function check_admission(addr)
  if not room_exists() then fail('room_not_found') end
  if banned(addr) then fail('banned') end
  if redis.call('HGET', K_ROOM, 'locked') == '1' then fail('room_locked') end
end

-- The room's current channel; remove_member pins it before a room is deleted. Per-call state:
-- lib_begin resets it, since a library's locals outlive calls.
local pinned_channel = nil
local function lib_begin()
  pinned_channel = nil
  head = nil
end
local function channel()
  if pinned_channel then return pinned_channel end
  return room_id() .. '-' .. (room_head().epoch or '0')
end

-- Deletes every key of the room, its channel pinned first so that the call's events still go
-- to it.
local function delete_room()
  pinned_channel = channel()
  redis.call('DEL', unpack(KEYS, 1, ROOM_KEYS))
  head = {epoch = false, touched = false}
end

local function result(status, body, events, followups)
  local out = {status, body or '', channel()}
  events, followups = events or {}, followups or {}
  out[#out + 1] = #events
  for _, e in ipairs(events) do out[#out + 1] = e end
  out[#out + 1] = #followups
  for _, f in ipairs(followups) do out[#out + 1] = f end
  return out
end

-- Removes member m and appends the resulting events. If m was the last host, the longest
-- present remaining member (online ones first) becomes host. If m was the last member, the
-- room and all its keys are deleted, room.closed is published for anyone still listening, and
-- true is returned.
local function remove_member(m, reason, events)
  if m.online then redis.call('HINCRBY', K_ROOM, 'online', -1) end
  redis.call('HDEL', K_MEMBERS, m.id)
  redis.call('HDEL', K_USERS, m.id)
  redis.call('HDEL', K_NAMES, m.key)
  redis.call('HDEL', K_AUTH, m.tok)
  redis.call('HDEL', K_LIMITS, m.id .. '|chat', m.id .. '|control', m.id .. '|typing',
    m.id .. '|ticket', m.id .. '|reaction', m.id .. '|buffering')
  if redis.call('HLEN', K_MEMBERS) == 0 then
    local seq = current_seq() + 1
    delete_room()
    events[#events + 1] = envelope('user.left', seq,
      cjson.encode({userId = m.id, reason = reason}))
    events[#events + 1] = envelope('room.closed', seq + 1, '{"reason":"empty"}')
    return true
  end
  events[#events + 1] = envelope('user.left', next_seq(),
    cjson.encode({userId = m.id, reason = reason}))
  if m.isHost then
    local best, hosts = nil, 0
    for _, o in ipairs(sorted_members()) do
      if o.isHost then hosts = hosts + 1 end
      if best == nil or (o.online and not best.online) then best = o end
    end
    if hosts == 0 then
      best.isHost = true
      put_member(best)
      events[#events + 1] = envelope('user.promoted', next_seq(),
        cjson.encode({userId = best.id}))
    end
  end
  return false
end

-- The follow-ups of a removal: when the room is gone, it leaves the index and its channel
-- closes (room.closed went out on it first).
local function removal_followups(room_gone, followups)
  followups = followups or {}
  if room_gone then
    followups[#followups + 1] = 'unindex ' .. room_id()
    followups[#followups + 1] = 'close ' .. channel()
  end
  return followups
end

local function timer(kind, at, entry)
  return 'timer ' .. kind .. ' ' .. int(at) .. ' ' .. entry
end

local function presence_timer(uid, at)
  return timer('presence', at, room_id() .. '|' .. uid)
end

-- Wait for everyone (issue 17): with the room setting waitForAll on, a member online whose
-- player has been buffering for WAIT_AFTER_MS while the room plays pauses the room (wait.lua);
-- the room resumes when every one of them is ready again, or after WAIT_MAX_MS at the latest.
local WAIT_AFTER_MS = 1000
local WAIT_MAX_MS = 15000

local function wait_for_all()
  return redis.call('HGET', K_ROOM, 'waitForAll') == '1'
end

-- The members online whose players have been buffering since at or before `before` (ms), and
-- the earliest `since` of the others (nil when none).
local function buffering_members(before)
  local slow, later = {}, nil
  for uid, since in pairs(get_buffering()) do
    local m = get_member(uid)
    if m and m.online then
      if since <= before then slow[#slow + 1] = uid
      elseif later == nil or since < later then later = since end
    end
  end
  table.sort(slow)
  return slow, later
end

-- The sync beacon's timer (sync_beacon.lua), or nil when the room has one pending. Two fields
-- of the room hash: syncAt, when the pending beacon's entry is due; syncNext, when the next
-- beacon should go out: SYNC_INTERVAL_MS after the last change of playback, which reached the
-- viewers itself. A pending beacon due before syncNext moves itself there instead of sending,
-- so beacons come an interval after the last change and every interval after that, as when
-- each action moved the timer, while an action in a room with a beacon pending costs no
-- follow-up (a Redis round trip of its caller). A syncAt past (pushd late, or the entry lost)
-- schedules anew: the ZADD only moves the room's one entry.
local function sync_timer()
  local next_at = NOW + SYNC_INTERVAL_MS
  local at = tonumber(redis.call('HGET', K_ROOM, 'syncAt'))
  if at and at > NOW then
    redis.call('HSET', K_ROOM, 'syncNext', next_at)
    return nil
  end
  redis.call('HSET', K_ROOM, 'syncAt', next_at, 'syncNext', next_at)
  return timer('sync', next_at, room_id())
end

-- Ends a wait: the room plays again from where it paused, START_AHEAD_MS from now, so that
-- every player starts on the same frame. Members still buffering are left to catch up (their
-- reports start over). Returns the video.play event and the sync beacon's timer.
local function wait_resume()
  local video = cjson.decode(redis.call('HGET', K_ROOM, 'video'))
  video.playing, video.updatedAt = true, NOW + START_AHEAD_MS
  local json = cjson.encode(video)
  redis.call('HSET', K_ROOM, 'video', json)
  redis.call('HDEL', K_ROOM, 'waiting', 'waitingSince', 'buffering')
  return envelope('video.play', next_seq(), '{"video":' .. json .. '}'), sync_timer()
end

-- Joins and presence changes, coalesced per room: a member's user.joined (user.presence) goes
-- out at once when the room announced no join (presence change) in the last PRESENCE_BATCH_MS;
-- otherwise the member's id waits in the room's field joinPending (presencePending), and
-- pushd's timer 'pflush' (presence_flush.lua) announces everyone waiting at the end of that
-- window. Whatever goes out takes everything waiting along, joins first, so a member's join is
-- never announced after its presence. Each kind has its own window (joinAt, presenceAt): a
-- newcomer's own presence, a moment after its join, goes out at once in a quiet room, with no
-- timer. Filling a room of n members costs each member O(n / batch) messages rather than n.
-- The member record changes at once (the room state is never behind); only the announcement
-- waits. An announcement after the window takes what still waits along (its flush is late, or
-- its timer was lost), so nothing waits longer than until the room's next change or flush.

-- The members of the space-separated ids, each once, as they are now (one that is gone, not
-- at all); current, when given, is a member record newer than the stored one.
local function members_of(ids, current)
  local seen, list = {}, {}
  for uid in string.gmatch(ids or '', '%S+') do
    local m = not seen[uid] and (current and current.id == uid and current or get_member(uid))
    seen[uid] = true
    if m then list[#list + 1] = m end
  end
  return list
end

-- One event for the members: data {<one>} for one, {users: [...]} for several; nil for none.
local function batch_event(type, members, one)
  if #members == 0 then return nil end
  local items = {}
  for i, m in ipairs(members) do items[i] = one(m) end
  return envelope(type, next_seq(),
    #items == 1 and cjson.encode(items[1]) or cjson.encode({users = items}))
end

-- Sends the joins and presence changes of the space-separated ids (nil for none): user.joined
-- {user} / {users: [{user}...]}, then user.presence {userId, online} / {users: [...]}. Nothing
-- waits afterwards; each kind sent starts its window.
local function send_announcements(events, joins, presence, current)
  redis.call('HDEL', K_ROOM, 'joinPending', 'presencePending')
  if joins then redis.call('HSET', K_ROOM, 'joinAt', int(NOW)) end
  if presence then redis.call('HSET', K_ROOM, 'presenceAt', int(NOW)) end
  events[#events + 1] = batch_event('user.joined', members_of(joins, current),
    function(m) return {user = public_user(m)} end)
  events[#events + 1] = batch_event('user.presence', members_of(presence, current),
    function(m) return {userId = m.id, online = m.online == true} end)
end

-- The ids waiting to be announced: joins, presence changes (nil for none).
local function pending_announcements()
  local joins, presence = unpack(redis.call('HMGET', K_ROOM, 'joinPending', 'presencePending'))
  return joins or nil, presence or nil
end

-- Joins into a room smaller than this go out at once: a batch there holds one or two joins,
-- and its flush (a timer, pushd's call, a publish) costs more than the few deliveries it saves
-- (measured: joins-10 1 930 -> 2 110-2 480 us per join with every room's joins coalesced).
local JOIN_BATCH_MIN_MEMBERS = 20

-- Announces member m's join (join true) or presence change.
local function announce(join, m, events, followups)
  local joins, presence, join_at, presence_at = unpack(redis.call('HMGET', K_ROOM, 'joinPending',
    'presencePending', 'joinAt', 'presenceAt'))
  joins, presence = joins or nil, presence or nil
  local last = tonumber(join and join_at or presence_at) or 0
  if NOW - last >= PRESENCE_BATCH_MS or
      (join and redis.call('HLEN', K_MEMBERS) < JOIN_BATCH_MIN_MEMBERS) then
    if join then
      joins = (joins or '') .. ' ' .. m.id
    else
      presence = (presence or '') .. ' ' .. m.id
    end
    send_announcements(events, joins, presence, m)
    return
  end
  if not joins and not presence then
    followups[#followups + 1] = timer('pflush', last + PRESENCE_BATCH_MS, room_id())
  end
  local field, waiting = 'presencePending', presence
  if join then field, waiting = 'joinPending', joins end
  redis.call('HSET', K_ROOM, field, waiting and (waiting .. ' ' .. m.id) or m.id)
end

local function announce_presence(m, events, followups)
  announce(false, m, events, followups)
end

-- The channel a lease's value ('uid channel ip owner') names.
local function lease_channel(lease)
  return string.match(lease, '^%S+ (%S+)')
end

-- Closes lease cid (its stored value): frees its place under the address cap and its owner's
-- index entry, and counts its member's streams down; the last one starts the grace period.
-- Returns the member (to be stored by the caller; nil if gone or already at zero streams) and
-- the lease's channel. end_stream and retire_channel share it.
local function close_lease(cid, lease, followups)
  redis.call('HDEL', K_LEASES, cid)
  local luid, lchan, lip, lowner = string.match(lease, '^(%S+) (%S+) (%S+) (%S+)$')
  followups[#followups + 1] = 'subs_release ' .. lip .. ' ' .. cid
  followups[#followups + 1] = 'owner_del ' .. lowner .. ' ' .. room_id() .. '|' .. cid
  local m = get_member(luid)
  if not m or (m.conns or 0) == 0 then return nil, lchan end
  m.conns = m.conns - 1
  if m.conns == 0 then
    m.offlineSince = NOW
    followups[#followups + 1] = presence_timer(m.id, NOW + GRACE_MS)
  end
  return m, lchan
end

-- Closes lease cid as its stream's end: close_lease, and when that was the member's last stream
-- on the room's current channel, the member goes offline (announced). A close on a retired
-- channel announces nothing: every member is reconnecting, and one that does not is removed
-- after the grace period all the same. The unsubscribe hook (presence.lua) and the check of
-- streams nchan forgot to report (verify.lua) share it.
local function end_stream(cid, lease, events, followups)
  local m, lchan = close_lease(cid, lease, followups)
  if not m then return end
  if m.conns == 0 and lchan == channel() and m.online then
    m.online = false
    redis.call('HINCRBY', K_ROOM, 'online', -1)
    announce_presence(m, events, followups)
  end
  put_member(m)
  touch()
end

-- nchan 1.3.6 runs the subscribe hook of a stream closed during that hook but never its
-- unsubscribe hook (docs/nchan-notes.md), so a lease can outlive its stream. Every open asks
-- pushd to check the room's leases against nchan's own list of the channel's subscribers
-- VERIFY_MS later (verify.lua): one timer per room however many streams open meanwhile (the
-- field verifyAt says when the pending one is due), and each check covers every lease opened
-- before it.
local function verify_soon(followups)
  local at = tonumber(redis.call('HGET', K_ROOM, 'verifyAt'))
  if at and at > NOW then return end
  redis.call('HSET', K_ROOM, 'verifyAt', NOW + VERIFY_MS)
  followups[#followups + 1] = timer('verify', NOW + VERIFY_MS, room_id())
end

-- Moves the room to a new channel ('close OLD' ends every stream on the old one) and closes the
-- old channel's leases here: the server knows those streams end, and nchan 1.3.6 can drop the
-- unsubscribe hook of a stream it closes with its channel (measured: now and then a lease, its
-- place under the address cap and its member's count stayed behind). Hooks that still come find
-- nothing to close. The members stay online, as on any close of a retired channel: they
-- reconnect at once, and one that does not is removed after the grace period. Returns the old
-- channel.
local function retire_channel(followups)
  local old = channel()
  room_head().epoch = tostring(redis.call('HINCRBY', K_ROOM, 'epoch', 1))
  followups[#followups + 1] = 'close ' .. old
  local leases = redis.call('HGETALL', K_LEASES)
  for i = 1, #leases, 2 do
    if lease_channel(leases[i + 1]) == old then
      local m = close_lease(leases[i], leases[i + 1], followups)
      if m then put_member(m) end
    end
  end
  return old
end

-- Marks member m online (its first stream or long-poll) and announces it, coalesced per room.
local function set_online(m, events, followups)
  if not m.online then
    m.online = true
    redis.call('HINCRBY', K_ROOM, 'online', 1)
    announce_presence(m, events, followups)
  end
end

-- Opens the lease of stream cid (uid, channel chan, address limit key ipkey, owner: see the
-- lease above), adding its events and follow-ups: presence.lua's 'open', and subscribe.lua's
-- when the authorizer opens the stream in the same call as its check. An open whose close came
-- first, or of a member removed or a channel retired meanwhile, only gives the place back.
local function lease_open(uid, chan, cid, ipkey, owner, events, followups)
  local exists = room_exists()
  local lease = exists and redis.call('HGET', K_LEASES, cid)
  if lease then
    if lease == '-' then -- its close came first: the connection is already gone
      redis.call('HDEL', K_LEASES, cid)
      followups[#followups + 1] = 'subs_release ' .. ipkey .. ' ' .. cid
    end
    return
  end
  local m = exists and get_member(uid)
  if not m or chan ~= channel() then
    followups[#followups + 1] = 'subs_release ' .. ipkey .. ' ' .. cid
    return
  end
  redis.call('HSET', K_LEASES, cid, uid .. ' ' .. chan .. ' ' .. ipkey .. ' ' .. owner)
  m.conns = (m.conns or 0) + 1
  if m.conns == 1 then
    m.offlineSince = nil
    set_online(m, events, followups)
  end
  put_member(m)
  touch()
  followups[#followups + 1] = 'subs_hold ' .. ipkey .. ' ' .. cid
  followups[#followups + 1] = 'owner_add ' .. owner .. ' ' .. room_id() .. '|' .. cid
  verify_soon(followups)
end
