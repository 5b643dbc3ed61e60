// Watching together (issue 17), server side: the queue and auto-advance, subtitles, wait for
// everyone (buffering reports, pushd's checks, the scheduled resume) and reactions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startStack } from '../lib/stack.mjs';
import { api, subscribeWs, sleep, waitFor } from '../lib/client.mjs';
import { makeRoom, onlineIn, settled, snapshot } from '../lib/room.mjs';

let stack, req;
before(async () => {
  stack = await startStack({ env: { WNC_SYNC_INTERVAL_MS: '500' } });
  req = api(stack.url);
});
after(async () => { await stack?.stop(); });

const A = 'https://example.com/a.webm';
const B = 'https://example.com/b.webm';
const C = 'https://www.youtube.com/watch?v=dQw4w9WgXcQ';

// Turns a room setting on or off the way a host does (the access issue's PATCH .../settings).
async function setting(roomId, host, name, on) {
  const res = await req('PATCH', `/api/rooms/${roomId}/settings`, { [name]: on }, host.token);
  if (res.status === 200) return;
  // Before the settings route exists: the same field of the room hash that it writes.
  assert.ok(res.status === 404 || res.status === 405, res.text);
  execFileSync('redis-cli', ['-p', String(stack.redisPort), on ? 'HSET' : 'HDEL', `room:{${roomId}}`, name,
    ...(on ? ['1'] : [])]);
}

// Expects an error answer with this status and code, and that the member's view did not change.
async function refused(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error.code, code, res.text);
}

test('queue: add, remove, move with their rules, events and limits', async () => {
  const { roomId, host, guests: [bob, carol] } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
  const ws = await subscribeWs(stack.port, roomId, bob.token);
  await settled(req, roomId, host.token); // the joins' and Bob's announcements are out
  const q = (path = '') => `/api/rooms/${roomId}/queue${path}`;

  const added = await req('POST', q(), { url: A }, host.token);
  assert.equal(added.status, 201, added.text);
  assert.deepEqual(added.json.item, { id: added.json.item.id, url: A, kind: 'file', videoId: null, title: null, addedBy: host.userId });
  const ev = await ws.next('queue.updated');
  assert.deepEqual(ev.data.queue, [added.json.item]);
  const yt = (await req('POST', q(), { url: C }, host.token)).json.item;
  assert.deepEqual([yt.kind, yt.videoId], ['youtube', 'dQw4w9WgXcQ']);

  // Guests may not add until guestsCanChangeVideo; then they may, and remove their own only.
  const before = await snapshot(req, roomId, bob.token);
  await refused(await req('POST', q(), { url: B }, bob.token), 403, 'not_host');
  assert.deepEqual((await snapshot(req, roomId, bob.token)).room, before.room);
  await setting(roomId, host, 'guestsCanChangeVideo', true);
  const bobs = (await req('POST', q(), { url: B }, bob.token)).json.item;
  assert.equal(bobs.addedBy, bob.userId);
  await refused(await req('DELETE', q(`/${bobs.id}`), null, carol.token), 403, 'not_host');
  await refused(await req('DELETE', q(`/${yt.id}`), null, bob.token), 403, 'not_host');
  await refused(await req('POST', q(`/${bobs.id}/move`), { index: 0 }, bob.token), 403, 'not_host');

  // Move (host): to the front, to the end; an index past the end or a wrong id changes nothing.
  let moved = await req('POST', q(`/${bobs.id}/move`), { index: 0 }, host.token);
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(moved.json.queue.map((i) => i.id), [bobs.id, added.json.item.id, yt.id]);
  moved = await req('POST', q(`/${bobs.id}/move`), { index: 2 }, host.token);
  assert.deepEqual(moved.json.queue.map((i) => i.id), [added.json.item.id, yt.id, bobs.id]);
  moved = await req('POST', q(`/${added.json.item.id}/move`), { index: 99 }, host.token);
  assert.deepEqual(moved.json.queue.map((i) => i.id), [yt.id, bobs.id, added.json.item.id], 'past the end: last');
  const seq = (await snapshot(req, roomId, host.token)).room.seq;
  await refused(await req('POST', q('/999999/move'), { index: 0 }, host.token), 404, 'item_not_found');
  await refused(await req('DELETE', q('/999999'), null, host.token), 404, 'item_not_found');
  assert.equal((await snapshot(req, roomId, host.token)).room.seq, seq);

  // Remove: the member who added it, or a host.
  assert.equal((await req('DELETE', q(`/${bobs.id}`), null, bob.token)).status, 204);
  assert.equal((await req('DELETE', q(`/${yt.id}`), null, host.token)).status, 204);
  const state = await snapshot(req, roomId, carol.token);
  assert.deepEqual(state.room.queue, [added.json.item]);
  const updates = () => ws.events.filter((e) => e.type === 'queue.updated').length;
  await waitFor(() => updates() >= 7, 3000, 'every queue.updated').catch(() => {});
  assert.equal(updates(), 7, 'one event per change after the first');
  ws.terminate();
});

test('queue: at most 100 items; hostile input is refused and changes nothing', async () => {
  const { roomId, host } = await makeRoom(req, 'Alice');
  const q = `/api/rooms/${roomId}/queue`;
  const hostile = [
    [{ url: 'javascript:alert(1)' }, 'invalid_field'],
    [{ url: 'ftp://example.com/a.mp4' }, 'invalid_field'],
    [{ url: `https://example.com/${'a'.repeat(2100)}.mp4` }, 'invalid_field'],
    [{ url: 'https://example.com/a b.mp4' }, 'invalid_field'],
    [{ url: 42 }, 'invalid_field'],
    [{}, 'missing_field'],
    [{ url: A, title: 'x' }, 'unknown_field'],
  ];
  for (const [body, code] of hostile) await refused(await req('POST', q, body, host.token), 400, code);
  for (const [path, body] of [['/0/move', { index: 0 }], ['/01/move', { index: 0 }], ['/abc', null], ['/1234567890123456', null]]) {
    const res = await req(body ? 'POST' : 'DELETE', q + path, body, host.token);
    await refused(res, 400, 'invalid_field');
    assert.equal(res.json.error.field, 'itemId');
  }
  for (const index of [-1, 1.5, 100, 'x', true]) {
    await refused(await req('POST', `${q}/1/move`, { index }, host.token), 400, 'invalid_field');
  }
  await refused(await req('POST', q, { url: A }), 401, 'unauthorized');
  assert.deepEqual((await snapshot(req, roomId, host.token)).room.queue, []);

  // Fill it (the control limit is per 10 s: a host adding 100 items waits between bursts).
  let added = 0;
  while (added < 100) {
    const res = await req('POST', q, { url: `https://example.com/v${added}.mp4` }, host.token);
    if (res.status === 429) { await sleep(Number(res.headers.get('retry-after')) * 1000); continue; }
    assert.equal(res.status, 201, res.text);
    added++;
  }
  let full;
  do {
    full = await req('POST', q, { url: A }, host.token);
    if (full.status === 429) await sleep(1000);
  } while (full.status === 429);
  await refused(full, 409, 'queue_full');
  assert.equal((await snapshot(req, roomId, host.token)).room.queue.length, 100);
});

test('video/next plays the first item for everyone with a scheduled start; empty queue is 409', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, bob.token);
  await refused(await req('POST', `/api/rooms/${roomId}/video/next`, null, host.token), 409, 'queue_empty');
  const item = (await req('POST', `/api/rooms/${roomId}/queue`, { url: A }, host.token)).json.item;
  await refused(await req('POST', `/api/rooms/${roomId}/video/next`, null, bob.token), 403, 'not_host');
  const t0 = Date.now();
  const next = await req('POST', `/api/rooms/${roomId}/video/next`, null, host.token);
  assert.equal(next.status, 200, next.text);
  const v = next.json.video;
  assert.deepEqual([v.url, v.kind, v.playing, v.position, v.rate], [item.url, 'file', true, 0, 1]);
  assert.ok(v.updatedAt >= t0 + 2500 && v.updatedAt <= Date.now() + 3500, `start ${v.updatedAt - t0} ms ahead`);
  await ws.next((e) => e.type === 'queue.updated' && e.data.queue.length === 0);
  assert.deepEqual((await ws.next('video.set')).data.video, v);
  ws.terminate();
});

test('auto-advance: many concurrent ended reports start the next item exactly once', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `Viewer${i}`);
  const { roomId, host, guests } = await makeRoom(req, 'Alice', names);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  await settled(req, roomId, host.token); // the joins' and the host's announcements are out
  await req('PUT', `/api/rooms/${roomId}/video`, { url: A }, host.token);
  await ws.next('video.set');
  for (const url of [B, A]) await req('POST', `/api/rooms/${roomId}/queue`, { url }, host.token);
  // Playing from 100 s: the video is past its start, as a real end is.
  await req('POST', `/api/rooms/${roomId}/video/play`, { position: 100 }, host.token);
  await ws.next('video.play');

  // A report for another URL, or from a stranger, changes nothing.
  const seq = (await snapshot(req, roomId, host.token)).room.seq;
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/ended`, { url: B }, guests[0].token)).status, 204);
  await refused(await req('POST', `/api/rooms/${roomId}/video/ended`, { url: A }), 401, 'unauthorized');
  assert.equal((await snapshot(req, roomId, host.token)).room.seq, seq);

  const all = [host, ...guests];
  const answers = await Promise.all(all.map((m) => req('POST', `/api/rooms/${roomId}/video/ended`, { url: A }, m.token)));
  assert.deepEqual(answers.map((r) => r.status), all.map(() => 204));
  const set = await ws.next('video.set');
  assert.equal(set.data.video.url, B);
  assert.equal(set.data.video.playing, true);
  assert.ok(set.data.video.updatedAt > set.at, 'a scheduled start');
  await sleep(300);
  assert.equal(ws.events.filter((e) => e.type === 'video.set').length, 0, 'exactly one advance');
  const state = (await snapshot(req, roomId, host.token)).room;
  assert.deepEqual(state.queue.map((i) => i.url), [A]);
  assert.equal(state.video.url, B);
  assert.equal(state.seq, seq + 2, 'queue.updated and video.set');

  // A late report for the old video (the next item has the same URL A) changes nothing.
  await req('POST', `/api/rooms/${roomId}/video/next`, null, host.token);
  const again = (await ws.next('video.set')).data.video;
  assert.equal(again.url, A);
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/ended`, { url: A }, guests[1].token)).status, 204);
  assert.deepEqual((await snapshot(req, roomId, host.token)).room.video, again);
  ws.terminate();
});

test('auto-advance with an empty queue leaves the room paused at the end', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: A }, host.token);
  await req('POST', `/api/rooms/${roomId}/video/play`, { position: 30 }, host.token);
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/ended`, { url: A }, bob.token)).status, 204);
  const paused = (await ws.next('video.pause')).data.video;
  assert.equal(paused.playing, false);
  assert.ok(paused.position >= 30 && paused.position < 32, String(paused.position));
  const seq = (await snapshot(req, roomId, host.token)).room.seq;
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/ended`, { url: A }, host.token)).status, 204);
  assert.equal((await snapshot(req, roomId, host.token)).room.seq, seq, 'a repeated report changes nothing');
  ws.terminate();
});

test('subtitles: set, clear, cleared by a new video, YouTube not supported, permissions', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const path = `/api/rooms/${roomId}/video/subtitles`;
  const track = { url: 'https://example.com/a.vtt', label: 'English', lang: 'en' };
  await refused(await req('PUT', path, track, host.token), 409, 'no_video');
  await req('PUT', `/api/rooms/${roomId}/video`, { url: A }, host.token);
  const ws = await subscribeWs(stack.port, roomId, bob.token);

  const set = await req('PUT', path, { ...track, label: '  English  ' }, host.token);
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(set.json.subtitles, track);
  assert.deepEqual((await ws.next('video.subtitles')).data.subtitles, track);
  assert.deepEqual((await snapshot(req, roomId, bob.token)).room.subtitles, track);

  await refused(await req('PUT', path, track, bob.token), 403, 'not_host');
  await refused(await req('DELETE', path, null, bob.token), 403, 'not_host');
  const hostile = [
    [{ ...track, url: 'javascript:x' }, 'url'], [{ ...track, url: 'file:///etc/passwd' }, 'url'],
    [{ ...track, label: '' }, 'label'], [{ ...track, label: '   ' }, 'label'], [{ ...track, label: 'a\nb' }, 'label'],
    [{ ...track, label: 'x'.repeat(51) }, 'label'], [{ ...track, lang: 'english' }, 'lang'], [{ ...track, lang: 'e' }, 'lang'],
    [{ ...track, lang: 'en-' }, 'lang'], [{ ...track, lang: 'en US' }, 'lang'], [{ ...track, lang: 5 }, 'lang'],
  ];
  for (const [body, field] of hostile) {
    const res = await req('PUT', path, body, host.token);
    await refused(res, 400, 'invalid_field');
    assert.equal(res.json.error.field, field, JSON.stringify(body));
  }
  await refused(await req('PUT', path, { url: track.url, label: 'x' }, host.token), 400, 'missing_field');
  assert.deepEqual((await snapshot(req, roomId, bob.token)).room.subtitles, track);

  // Guests with guestsCanChangeVideo may; clearing sends null; a second clear sends nothing.
  await setting(roomId, host, 'guestsCanChangeVideo', true);
  const pt = { url: 'http://127.0.0.1:1/a.srt', label: 'Português', lang: 'pt-BR' };
  assert.equal((await req('PUT', path, pt, bob.token)).status, 200);
  await ws.next('video.subtitles');
  assert.equal((await req('DELETE', path, null, bob.token)).status, 204);
  assert.equal((await ws.next('video.subtitles')).data.subtitles, null);
  const seq = (await snapshot(req, roomId, host.token)).room.seq;
  assert.equal((await req('DELETE', path, null, host.token)).status, 204);
  assert.equal((await snapshot(req, roomId, host.token)).room.seq, seq);

  // A new video drops the track; YouTube takes none.
  await req('PUT', path, track, host.token);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: B }, host.token);
  assert.equal((await snapshot(req, roomId, host.token)).room.subtitles, null);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: C }, host.token);
  await refused(await req('PUT', path, track, host.token), 409, 'not_supported');
  ws.terminate();
});

test('reactions: the fixed set, an event for everyone, 5 per 2 s per member', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  // The host's coming online is announced (at once or in the room's next presence batch) and
  // advances seq: wait for it, so that the seq read below is the one reactions must keep.
  await onlineIn(req, roomId, host.token, host.userId);
  const path = `/api/rooms/${roomId}/reactions`;
  const seq = (await snapshot(req, roomId, host.token)).room.seq;
  for (const emoji of ['👍', '❤️', '😂', '😮', '😢']) {
    assert.equal((await req('POST', path, { emoji }, bob.token)).status, 204);
    const ev = await ws.next('reaction');
    assert.deepEqual(ev.data, { userId: bob.userId, emoji });
    assert.equal(ev.seq, seq, 'reactions do not advance seq');
  }
  const limited = await req('POST', path, { emoji: '🔥' }, bob.token);
  await refused(limited, 429, 'rate_limited');
  assert.equal(limited.headers.get('retry-after'), '2');
  // Another member has a budget of their own; after the window Bob has his back.
  for (const emoji of ['👏', '🔥', '🎉']) assert.equal((await req('POST', path, { emoji }, host.token)).status, 204);
  await sleep(2100);
  assert.equal((await req('POST', path, { emoji: '🎉' }, bob.token)).status, 204);
  for (const emoji of ['❤', '👍🏽', 'x', '', '👍👍', '<img src=x>', 1, false]) {
    await refused(await req('POST', path, { emoji }, host.token), 400, 'invalid_field');
  }
  assert.equal((await snapshot(req, roomId, host.token)).room.seq, seq);
  ws.terminate();
});

test('wait for everyone: pause after 1 s of buffering, scheduled resume when ready', async () => {
  const { roomId, host, guests: [bob, carol] } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  const bobWs = await subscribeWs(stack.port, roomId, bob.token);
  await setting(roomId, host, 'waitForAll', true);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: A }, host.token);
  await req('POST', `/api/rooms/${roomId}/video/play`, { position: 10 }, host.token);
  await ws.next('video.play');
  const buffering = (m, on) => req('POST', `/api/rooms/${roomId}/buffering`, { buffering: on, position: 10 }, m.token);

  // A short stall (under 1 s) pauses nothing; neither does an offline member's report.
  assert.equal((await buffering(bob, true)).status, 204);
  await sleep(400);
  assert.equal((await buffering(bob, false)).status, 204);
  assert.equal((await buffering(carol, true)).status, 204); // Carol has no stream: offline
  await sleep(1600);
  assert.equal(ws.events.filter((e) => e.type === 'room.waiting').length, 0);
  await buffering(carol, false);

  const t0 = Date.now();
  await buffering(bob, true);
  const waiting = await ws.next('room.waiting', 4000);
  const elapsed = Date.now() - t0;
  assert.deepEqual(waiting.data.userIds, [bob.userId]);
  assert.ok(elapsed >= 950 && elapsed < 2500, `paused after ${elapsed} ms`);
  const paused = await ws.next('video.pause');
  assert.equal(paused.seq, waiting.seq + 1);
  assert.equal(paused.data.video.playing, false);
  assert.ok(paused.data.video.position > 10, 'paused at the authoritative position');
  assert.deepEqual((await snapshot(req, roomId, host.token)).room.waiting, [bob.userId]);

  await sleep(300);
  const readyAt = Date.now();
  await buffering(bob, false);
  const play = await ws.next('video.play');
  const v = play.data.video;
  assert.equal(v.playing, true);
  assert.equal(v.position, paused.data.video.position, 'resumes where it paused');
  assert.ok(v.updatedAt >= readyAt + 2900 && v.updatedAt <= Date.now() + 3100, `start ${v.updatedAt - readyAt} ms ahead`);
  assert.equal((await snapshot(req, roomId, host.token)).room.waiting, null);

  // Waiting for the scheduled start is no stall: a report then, over before the start, pauses
  // nothing; beacons repeat the same state meanwhile.
  await buffering(bob, true);
  const sync = await ws.next((e) => e.type === 'video.sync' && e.data.video.updatedAt === v.updatedAt, 3000);
  assert.deepEqual(sync.data.video, v);
  await sleep(Math.max(0, v.updatedAt - Date.now() - 500));
  await buffering(bob, false);
  await sleep(2000);
  assert.equal(ws.events.filter((e) => e.type === 'room.waiting').length, 0);
  ws.terminate();
  bobWs.terminate();
});

test('wait for everyone: resumes after 15 s without the slow member; off means no pause', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  const bobWs = await subscribeWs(stack.port, roomId, bob.token);
  const buffering = (m, on) => req('POST', `/api/rooms/${roomId}/buffering`, { buffering: on, position: 0 }, m.token);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: A }, host.token);
  await req('POST', `/api/rooms/${roomId}/video/play`, { position: 0 }, host.token);
  await ws.next('video.play');

  // Off (the default): buffering pauses nothing.
  await buffering(bob, true);
  await sleep(1800);
  assert.equal(ws.events.filter((e) => e.type === 'room.waiting' || e.type === 'video.pause').length, 0);
  await buffering(bob, false);

  await setting(roomId, host, 'waitForAll', true);
  await buffering(bob, true);
  const waiting = await ws.next('room.waiting', 4000);
  const play = await ws.next('video.play', 18000);
  const waited = play.at - waiting.at;
  assert.ok(waited >= 14900 && waited < 17000, `resumed after ${waited} ms`);
  assert.ok(play.data.video.updatedAt >= play.at + 2900, 'a scheduled start');
  // Bob, still buffering, is left to catch up: nothing pauses again.
  await sleep(1500);
  assert.equal(ws.events.filter((e) => e.type === 'room.waiting').length, 0);

  // A host's action ends a wait: play while waiting.
  await buffering(bob, false);
  await buffering(bob, true);
  await ws.next('room.waiting', 6000);
  const hostPlay = await req('POST', `/api/rooms/${roomId}/video/play`, { position: 1 }, host.token);
  assert.equal(hostPlay.status, 200);
  assert.equal((await snapshot(req, roomId, host.token)).room.waiting, null);
  await refused(await req('POST', `/api/rooms/${roomId}/buffering`, { buffering: 'yes', position: 0 }, bob.token), 400, 'invalid_field');
  await refused(await req('POST', `/api/rooms/${roomId}/buffering`, { buffering: true, position: -1 }, bob.token), 400, 'invalid_field');
  await refused(await req('POST', `/api/rooms/${roomId}/buffering`, { buffering: true }, bob.token), 400, 'missing_field');
  ws.terminate();
  bobWs.terminate();
});
