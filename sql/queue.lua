-- queue.lua: the room's queue of videos to play next, and playing from it.
-- ARGV 9 op: add | remove | move | next | ended
--      add: 10 url  11 kind  12 YouTube id or ''      remove: 10 item id
--      move: 10 item id  11 index (0-based; past the end: last)   next: nothing   ended: 10 url
-- add (hosts, or anyone when guestsCanChangeVideo): 201 {item} and queue.updated.
-- remove (a host, or the member who added it): 204 and queue.updated.
-- move (hosts): 200 {queue} and queue.updated.
-- next (hosts): plays the first item for everyone: 200 {video}, queue.updated and video.set.
-- ended (any member, reporting that its player reached the end of url): the first report for
-- the video playing starts the next item (or, with an empty queue, pauses the room at the end);
-- a stale or repeated report changes nothing. 204.
local m = authenticate()
local op = ARGV[9]
-- An end report from a player still on the previous run of the same URL comes within this much
-- of the new start; a real end is later.
local ENDED_MIN_S = 1

local function find(q, id)
  for i, item in ipairs(q) do
    if item.id == id then return i end
  end
  fail('item_not_found')
end

local function play_first(q)
  local item = table.remove(q, 1)
  put_queue(q)
  local qev = queue_event(q)
  local json, vev = video_start(item)
  return json, {qev, vev}, {sync_timer()}
end

rate_limit(m.id, 'control', CONTROL_RATE)
local q = get_queue()
if op == 'add' then
  require_permission(m, 'video')
  if #q >= QUEUE_MAX then fail('queue_full') end
  local item = {id = redis.call('HINCRBY', K_ROOM, 'queueNext', 1), url = ARGV[10],
                kind = ARGV[11], videoId = cjson.null, title = cjson.null, addedBy = m.id}
  if ARGV[12] ~= '' then item.videoId = ARGV[12] end
  q[#q + 1] = item
  put_queue(q)
  touch()
  return result(201, '{"item":' .. cjson.encode(item) .. '}', {queue_event(q)})
elseif op == 'remove' then
  local i = find(q, tonumber(ARGV[10]))
  if not m.isHost and q[i].addedBy ~= m.id then fail('not_host') end
  table.remove(q, i)
  put_queue(q)
  touch()
  return result(204, '', {queue_event(q)})
elseif op == 'move' then
  require_host(m)
  local i, to = find(q, tonumber(ARGV[10])), tonumber(ARGV[11]) + 1
  local moved = table.remove(q, i)
  table.insert(q, math.min(to, #q + 1), moved)
  put_queue(q)
  touch()
  local body = json_array(q)
  return result(200, '{"queue":' .. body .. '}', {queue_event(q)})
elseif op == 'next' then
  require_host(m)
  if #q == 0 then fail('queue_empty') end
  local json, events, followups = play_first(q)
  touch()
  return result(200, '{"video":' .. json .. '}', events, followups)
elseif op == 'ended' then
  local raw = redis.call('HGET', K_ROOM, 'video')
  if not raw then return result(204, '') end
  local video = cjson.decode(raw)
  if video.url ~= ARGV[10] or not video.playing then return result(204, '') end
  local position = video.position + (NOW - video.updatedAt) / 1000 * video.rate
  if position < ENDED_MIN_S then return result(204, '') end
  touch()
  if #q > 0 then
    local _, events, followups = play_first(q)
    return result(204, '', events, followups)
  end
  video.playing, video.position, video.updatedAt = false, position, NOW
  local json = cjson.encode(video)
  redis.call('HSET', K_ROOM, 'video', json)
  redis.call('HDEL', K_ROOM, 'waiting', 'waitingSince')
  return result(204, '', {envelope('video.pause', next_seq(), '{"video":' .. json .. '}')})
end
fail('invalid_field')
