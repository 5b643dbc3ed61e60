// Presence, host hand-off and pushd (issue 4), with a 2 s grace period.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { startStack, ROOT } from '../lib/stack.mjs';
import { api, subscribeWs, sleep } from '../lib/client.mjs';
import { makeRoom, snapshot } from '../lib/room.mjs';

const GRACE_MS = 2000;
let stack, req;
before(async () => {
  stack = await startStack({ env: { WNC_GRACE_MS: String(GRACE_MS), WNC_TYPING_TTL_MS: '1000', WNC_WS_PING_S: '1' } });
  req = api(stack.url);
});
after(async () => { await stack?.stop(); });

const redisKeys = (pattern) => execFileSync('redis-cli', ['-p', String(stack.redisPort), '--raw', 'KEYS', pattern], { encoding: 'utf8' })
  .split('\n').filter(Boolean);

test('an abrupt close shows offline within 1 s and removes the member after the grace', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const watcher = await subscribeWs(stack.port, roomId, host.token);
  const bobWs = await subscribeWs(stack.port, roomId, bob.token);
  await watcher.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);
  const t0 = Date.now();
  bobWs.terminate(); // TCP reset, no close frame
  const off = await watcher.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId, 2000);
  const offlineMs = Date.now() - t0;
  assert.equal(off.data.online, false);
  assert.ok(offlineMs < 1000, `offline after ${offlineMs} ms`);
  const left = await watcher.next('user.left', GRACE_MS + 3000);
  const leftMs = Date.now() - t0;
  assert.deepEqual(left.data, { userId: bob.userId, reason: 'timeout' });
  assert.ok(leftMs >= GRACE_MS - 100, `not before the grace (${leftMs} ms)`);
  console.log(`# abrupt close: offline after ${offlineMs} ms, removed after ${leftMs} ms (grace ${GRACE_MS} ms)`);
  const s = await snapshot(req, roomId, host.token);
  assert.deepEqual(s.room.users.map((u) => u.name), ['Alice']);
  assert.equal((await req('GET', `/api/rooms/${roomId}`, null, bob.token)).status, 401);
  watcher.terminate();
});

test('a frozen client (no reads, no pongs) is noticed by the WebSocket ping', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const watcher = await subscribeWs(stack.port, roomId, host.token);
  const bobWs = await subscribeWs(stack.port, roomId, bob.token);
  await watcher.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);
  bobWs.ws._socket.pause(); // the page is frozen: it neither reads nor answers pings
  const t0 = Date.now();
  const off = await watcher.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId, 10000);
  const ms = Date.now() - t0;
  assert.equal(off.data.online, false);
  console.log(`# frozen client: offline after ${ms} ms (ping interval 1 s)`);
  assert.ok(ms < 5000);
  bobWs.terminate();
  watcher.terminate();
});

test('a reload inside the grace period removes nobody and makes no leave/join noise', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const watcher = await subscribeWs(stack.port, roomId, bob.token);
  let hostWs = await subscribeWs(stack.port, roomId, host.token);
  await watcher.next((e) => e.type === 'user.presence' && e.data.userId === host.userId && e.data.online);
  for (let i = 0; i < 3; i++) {
    hostWs.terminate();
    await sleep(300);
    const again = await req('POST', `/api/rooms/${roomId}/join`, {}, host.token);
    assert.equal(again.status, 200);
    hostWs = await subscribeWs(stack.port, roomId, host.token);
  }
  await sleep(GRACE_MS + 1000);
  assert.equal(watcher.events.filter((e) => e.type === 'user.left' || e.type === 'user.joined' || e.type === 'user.promoted').length, 0);
  const s = await snapshot(req, roomId, host.token);
  assert.deepEqual(s.room.users.map((u) => [u.name, u.isHost, u.online]), [['Alice', true, true], ['Bob', false, true]]);
  watcher.terminate(); hostWs.terminate();
});

test('several tabs are one member online: offline only when the last one closes', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const watcher = await subscribeWs(stack.port, roomId, host.token);
  const tab1 = await subscribeWs(stack.port, roomId, bob.token);
  const tab2 = await subscribeWs(stack.port, roomId, bob.token);
  await watcher.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);
  tab1.close();
  await sleep(500);
  assert.equal(watcher.events.filter((e) => e.type === 'user.presence' && e.data.userId === bob.userId).length, 0);
  tab2.close();
  const off = await watcher.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId);
  assert.equal(off.data.online, false);
  watcher.terminate();
});

test('the last host timing out hands the room to the longest-present online member', async () => {
  const { roomId, host, guests: [bob, carol] } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
  const carolWs = await subscribeWs(stack.port, roomId, carol.token);
  const hostWs = await subscribeWs(stack.port, roomId, host.token);
  const bobWs = await subscribeWs(stack.port, roomId, bob.token);
  await carolWs.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);
  hostWs.terminate();
  const left = await carolWs.next('user.left', GRACE_MS + 3000);
  assert.equal(left.data.userId, host.userId);
  const promoted = await carolWs.next('user.promoted');
  assert.equal(promoted.data.userId, bob.userId);
  assert.equal(promoted.seq, left.seq + 1);
  const s = await snapshot(req, roomId, carol.token);
  assert.deepEqual(s.room.users.map((u) => [u.name, u.isHost]), [['Bob', true], ['Carol', false]]);
  bobWs.terminate(); carolWs.terminate();
});

test('the last member gone deletes every key of the room', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  await req('POST', `/api/rooms/${roomId}/chat`, { text: 'bye' }, bob.token);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: 'https://example.com/a.mp4' }, host.token);
  assert.deepEqual(redisKeys(`*{${roomId}}*`).sort(),
    ['auth', 'chat', 'limits', 'members', 'names', 'room', 'users'].map((k) => `${k}:{${roomId}}`));
  assert.ok(redisKeys('active-rooms').length === 1);
  const hostWs = await subscribeWs(stack.port, roomId, host.token);
  assert.equal((await req('POST', `/api/rooms/${roomId}/leave`, null, bob.token)).status, 204);
  await hostWs.next('user.left');
  hostWs.terminate();
  // Alice is offline; after the grace she is removed and the room with her. Bounded as in
  // presence-heal: should nchan lose the stream's unsubscribe hook (it can, on a loaded box),
  // pushd's check of the leases closes the lease within 14 s instead (sql/verify.lua).
  const deadline = Date.now() + GRACE_MS + 14000;
  while (redisKeys(`*{${roomId}}*`).length > 0 && Date.now() < deadline) await sleep(100);
  assert.deepEqual(redisKeys(`*{${roomId}}*`), []);
  assert.equal((await req('GET', `/api/rooms/${roomId}`)).status, 404);
  const members = execFileSync('redis-cli', ['-p', String(stack.redisPort), '--raw', 'SISMEMBER', 'active-rooms', roomId], { encoding: 'utf8' }).trim();
  assert.equal(members, '0');
});

test('a member who joins and never connects is removed after the grace', async () => {
  const { roomId, host } = await makeRoom(req, 'Alice', ['Ghost']);
  const hostWs = await subscribeWs(stack.port, roomId, host.token);
  const left = await hostWs.next('user.left', GRACE_MS + 3000);
  assert.equal(left.data.reason, 'timeout');
  hostWs.terminate();
});

test('long-poll members count as online while they keep polling', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  const t0 = Date.now();
  // Bob polls for 2.5 grace periods: each poll returns on the next event (the chats below).
  while (Date.now() - t0 < GRACE_MS * 2.5) {
    const poll = fetch(`${stack.url}/api/rooms/${roomId}/events`, { headers: { authorization: `Bearer ${bob.token}` } });
    await sleep(300);
    await req('POST', `/api/rooms/${roomId}/chat`, { text: 'ping' }, host.token);
    assert.equal((await poll).status, 200);
  }
  const online = await ws.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId);
  assert.equal(online.data.online, true);
  assert.equal(ws.events.filter((e) => e.type === 'user.left').length, 0);
  // Once Bob stops polling, he is removed after the grace.
  const left = await ws.next('user.left', GRACE_MS + 3000);
  assert.deepEqual(left.data, { userId: bob.userId, reason: 'timeout' });
  ws.terminate();
});

test('a typing indicator that is never stopped expires', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  await sleep(100);
  const t0 = Date.now();
  assert.equal((await req('POST', `/api/rooms/${roomId}/typing`, { typing: true }, bob.token)).status, 204);
  assert.equal((await ws.next('typing')).data.typing, true);
  const stop = await ws.next('typing', 3000);
  assert.deepEqual(stop.data, { userId: bob.userId, userName: 'Bob', typing: false });
  assert.ok(Date.now() - t0 >= 900, 'not before the typing TTL');
  ws.terminate();
});

test('rooms whose state expired leave active-rooms and lose their leftover keys', async () => {
  const cli = (...args) => execFileSync('redis-cli', ['-p', String(stack.redisPort), '--raw', ...args], { encoding: 'utf8' }).trim();
  cli('SADD', 'active-rooms', 'GHOST1');
  cli('RPUSH', 'chat:{GHOST1}', 'x');
  const deadline = Date.now() + 8000;
  while (cli('SISMEMBER', 'active-rooms', 'GHOST1') === '1' && Date.now() < deadline) await sleep(200);
  assert.equal(cli('SISMEMBER', 'active-rooms', 'GHOST1'), '0');
  assert.equal(cli('EXISTS', 'chat:{GHOST1}'), '0');
});

test('two pushd instances fire each expiry once', async () => {
  const env = {
    ...process.env, WNC_REDIS_PORT: String(stack.redisPort), WNC_GRACE_MS: String(GRACE_MS),
    WNC_PUBLISH_SOCKET: path.join(stack.runDir, 'publish.sock'), WNC_SQL_DIR: path.join(ROOT, 'sql'),
    WNC_TYPING_TTL_MS: '1000',
  };
  const extra = spawn(path.join(ROOT, 'build/wnc-pushd'), [], { env, stdio: 'ignore' });
  try {
    const rooms = [];
    for (let i = 0; i < 10; i++) rooms.push(await makeRoom(req, 'Alice', ['Bob', 'Carol']));
    const watchers = [];
    for (const r of rooms) {
      const w = await subscribeWs(stack.port, r.roomId, r.host.token);
      watchers.push(w);
    }
    // Bob and Carol never connect: each must be removed exactly once.
    await sleep(GRACE_MS + 2000);
    for (const w of watchers) {
      const lefts = w.events.filter((e) => e.type === 'user.left');
      assert.equal(lefts.length, 2, JSON.stringify(lefts));
      assert.equal(new Set(lefts.map((e) => e.seq)).size, 2);
      w.terminate();
    }
  } finally {
    extra.kill('SIGTERM');
  }
});

test('pushd reconnects after Redis drops its connection and its timers still fire', async () => {
  // A real Redis restart (with the workers and pushd) is covered in stack.test.mjs.
  const pushdPid = Number(execFileSync('cat', [path.join(stack.runDir, 'pushd.pid')], { encoding: 'utf8' }));
  const cli = (...args) => execFileSync('redis-cli', ['-p', String(stack.redisPort), ...args], { encoding: 'utf8' });
  cli('CLIENT', 'KILL', 'TYPE', 'normal');
  await sleep(500);
  process.kill(pushdPid, 0);
  const { roomId, host } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, host.token);
  const left = await ws.next('user.left', GRACE_MS + 3000);
  assert.equal(left.data.reason, 'timeout');
  ws.terminate();
});

test('presence changes in a burst are coalesced per room: fewer events, every change, seq in order', async () => {
  const GUESTS = 24;
  const names = Array.from({ length: GUESTS }, (_, i) => `Guest ${i}`);
  const { roomId, host, guests } = await makeRoom(req, 'Alice', names);
  const watcher = await subscribeWs(stack.port, roomId, host.token);
  await watcher.next((e) => e.type === 'user.presence' && e.data.userId === host.userId && e.data.online);
  await sleep(200); // a quiet room: the next change is announced at once
  const streams = await Promise.all(guests.map((g) => subscribeWs(stack.port, roomId, g.token)));
  for (const g of guests) await watcher.next((e) => e.type === 'user.presence' && e.data.userId === g.userId && e.data.online, 5000);
  const frames = watcher.raw.map((m) => JSON.parse(m)).filter((e) => e.type === 'user.presence');
  const batches = frames.filter((e) => Array.isArray(e.data.users));
  console.log(`# ${GUESTS} members online: ${frames.length - 1} presence events after the host's, ${batches.length} of them batches`);
  assert.ok(frames.length - 1 <= GUESTS / 3, `coalesced: ${frames.length - 1} events for ${GUESTS} changes`);
  assert.ok(batches.length >= 1 && batches.every((b) => b.data.users.length >= 2));
  const seqs = watcher.raw.map((m) => JSON.parse(m)).filter((e) => e.type !== 'heartbeat' && e.type !== 'typing').map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), 'seq advances by one per event');
  const s = await snapshot(req, roomId, host.token);
  assert.ok(s.room.users.every((u) => u.online), 'the state agrees');
  assert.equal(s.room.seq, seqs.at(-1));
  // Offline changes coalesce the same way, each member once with its state at the end.
  for (const w of streams) w.terminate();
  for (const g of guests) await watcher.next((e) => e.type === 'user.presence' && e.data.userId === g.userId && !e.data.online, 5000);
  assert.ok((await snapshot(req, roomId, host.token)).room.users.filter((u) => u.online).length === 1);
  watcher.terminate();
});
