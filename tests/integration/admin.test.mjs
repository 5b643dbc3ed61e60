// wnc-admin, the operator's CLI (issue 15), against a private stack: rooms, room, stats and check
// in text and --json, close reaching connected clients (room.closed, then their streams end and
// the room is gone from the API), and the exit codes (0 ok, 1 failed, 2 usage, 3 no such room).
// The binary is build/wnc-admin (make build), run with the stack's environment;
// WNC_ADMIN_BIN names another build of it (make SANITIZE=1 build: build/san/wnc-admin).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startStack, freePort, ROOT } from '../lib/stack.mjs';
import { api, subscribeWs, subscribeSse, sleep } from '../lib/client.mjs';
import { makeRoom, snapshot } from '../lib/room.mjs';

const ADMIN = process.env.WNC_ADMIN_BIN || path.join(ROOT, 'build/wnc-admin');
let stack, req;
before(async () => { stack = await startStack(); req = api(stack.url); });
after(async () => { await stack?.stop(); });

// The variables scripts/stack.sh gives the daemons, for this stack.
const stackEnv = () => ({
  WNC_REDIS_HOST: '127.0.0.1',
  WNC_REDIS_PORT: String(stack.redisPort),
  WNC_PUBLISH_SOCKET: path.join(stack.runDir, 'publish.sock'),
  WNC_SQL_DIR: path.join(ROOT, 'sql'),
});

// Runs wnc-admin; resolves { code, stdout, stderr, json } (json: stdout parsed, when it is).
function admin(args, env = {}) {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...stackEnv(), ...env };
    delete childEnv.WNC_LOG_LEVEL;
    execFile(ADMIN, args, { env: childEnv, timeout: 15000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      let json;
      try { json = JSON.parse(stdout); } catch { json = undefined; }
      resolve({ code, stdout, stderr, json });
    });
  });
}

const waitFor = async (cond, ms, what) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
};

test('usage errors exit 2, --help exits 0', async () => {
  const help = await admin(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: wnc-admin \[--json\] COMMAND/);
  for (const cmd of ['rooms', 'room ID', 'close ID [REASON]', 'stats', 'check']) assert.ok(help.stdout.includes(cmd), cmd);
  for (const args of [[], ['nope'], ['--nope', 'rooms'], ['room'], ['room', 'ABC123', 'extra'], ['rooms', 'extra'],
    ['room', 'abc'], ['room', 'ABC12!'], ['close'], ['close', 'ABC123', ''], ['close', 'ABC123', 'a\nb'],
    ['close', 'ABC123', 'x'.repeat(201)], ['close', 'ABC123', 'why', 'extra']]) {
    const r = await admin(args);
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '', JSON.stringify(args));
    assert.match(r.stderr, /wnc-admin: .+\ntry 'wnc-admin --help'/);
  }
  const r = await admin(['--json', 'room', 'abc']);
  assert.equal(r.code, 2);
  assert.equal(r.json.error.code, 'invalid_room_id');
  assert.equal((await admin(['room', '--json'])).json.error.code, 'usage');
});

test('check: every line ok against the stack; exit 1 with Redis down or a bad variable', async () => {
  const ok = await admin(['check']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const lines = ok.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(/\s+/).slice(0, 2)),
    [['ok', 'config'], ['ok', 'scripts'], ['ok', 'redis'], ['ok', 'functions'], ['ok', 'nchan']]);
  assert.match(ok.stdout, /redis +127\.0\.0\.1:\d+ answers PING/);
  assert.match(ok.stdout, /functions +library wnc_[0-9a-f]{12} loaded/);
  assert.match(ok.stdout, /nchan +publisher socket .*publish\.sock answers: \d+ channel\(s\), \d+ subscriber\(s\)/);
  const okJson = await admin(['check', '--json']);
  assert.equal(okJson.code, 0);
  assert.equal(okJson.json.ok, true);
  assert.deepEqual(okJson.json.checks.map((c) => [c.name, c.ok]),
    [['config', true], ['scripts', true], ['redis', true], ['functions', true], ['nchan', true]]);

  const down = await admin(['check'], { WNC_REDIS_PORT: String(await freePort()) });
  assert.equal(down.code, 1);
  assert.match(down.stdout, /^FAIL +redis +127\.0\.0\.1:\d+ is unavailable$/m);
  assert.match(down.stdout, /^FAIL +functions +skipped: Redis is unavailable$/m);
  assert.match(down.stdout, /^ok +nchan /m);
  const downJson = await admin(['--json', 'check'], { WNC_REDIS_PORT: String(await freePort()) });
  assert.equal(downJson.code, 1);
  assert.equal(downJson.json.ok, false);
  assert.deepEqual(downJson.json.checks.filter((c) => !c.ok).map((c) => c.name), ['redis', 'functions']);

  const noNchan = await admin(['check'], { WNC_PUBLISH_SOCKET: path.join(stack.runDir, 'missing.sock') });
  assert.equal(noNchan.code, 1);
  assert.match(noNchan.stdout, /^FAIL +nchan +publisher socket .*missing\.sock: connect: No such file or directory$/m);

  const bad = await admin(['check'], { WNC_REDIS_PORT: '70000' });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^FAIL +config /m);
  assert.match(bad.stderr, /WNC_REDIS_PORT="70000"/);

  // Other commands with Redis down: exit 1, and an error document with --json.
  const rooms = await admin(['--json', 'rooms'], { WNC_REDIS_PORT: String(await freePort()) });
  assert.equal(rooms.code, 1);
  assert.equal(rooms.json.error.code, 'redis_unavailable');
});

test('rooms, room and stats: what the API shows, in text and --json', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, bob.token);
  await ws.next((e) => e.type === 'user.presence' && e.data.online);
  assert.equal((await req('PUT', `/api/rooms/${roomId}/video`, { url: 'https://e.com/a.mp4' }, host.token)).status, 200);
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/play`, { position: 12.5 }, host.token)).status, 200);
  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'hi' }, bob.token)).status, 201);
  const snap = await snapshot(req, roomId, host.token);

  const rooms = await admin(['rooms', '--json']);
  assert.equal(rooms.code, 0, rooms.stderr);
  const row = rooms.json.rooms.find((r) => r.id === roomId);
  assert.deepEqual(row, { id: roomId, createdAt: snap.room.createdAt, seq: snap.room.seq, members: 2, online: 1,
    subscriptions: 1, chatLength: 1, video: 'playing' });
  assert.equal(rooms.json.count, rooms.json.rooms.length);
  assert.deepEqual(rooms.json.rooms.map((r) => r.id), rooms.json.rooms.map((r) => r.id).sort());
  const roomsText = await admin(['rooms']);
  assert.equal(roomsText.code, 0);
  assert.match(roomsText.stdout, /^ROOM +MEMBERS +ONLINE +STREAMS +VIDEO +CREATED$/m);
  assert.match(roomsText.stdout, new RegExp(`^${roomId} +2 +1 +1 +playing +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 'm'));

  // One room, by an id in any case: the state a member sees, plus what only the server knows.
  const one = await admin(['room', roomId.toLowerCase(), '--json']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.json.id, roomId);
  assert.equal(one.json.seq, snap.room.seq);
  assert.equal(one.json.createdAt, snap.room.createdAt);
  assert.match(one.json.channel, new RegExp(`^${roomId}-\\d+$`));
  assert.equal(one.json.chatLength, 1);
  assert.equal(one.json.subscriptions, 1);
  assert.equal(one.json.memberCount, 2);
  assert.equal(one.json.onlineCount, 1);
  assert.deepEqual(one.json.video, snap.room.video);
  assert.deepEqual(one.json.members, snap.room.users.map((u) => ({ ...u, subscriptions: u.id === bob.userId ? 1 : 0 })));
  assert.deepEqual(one.json.members.map((m) => [m.name, m.isHost, m.online]), [['Alice', true, false], ['Bob', false, true]]);
  const text = await admin(['room', roomId]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`^room +${roomId}$`, 'm'));
  assert.match(text.stdout, new RegExp(`^seq +${snap.room.seq}$`, 'm'));
  assert.match(text.stdout, /^chat +1 message\(s\)$/m);
  assert.match(text.stdout, /^video +playing at 12\.5 s, rate 1: https:\/\/e\.com\/a\.mp4 \(file\)$/m);
  assert.match(text.stdout, /^members +2, 1 online$/m);
  assert.match(text.stdout, new RegExp(`^ +host +no +0 +\\S+ \\S+ +${host.userId} +Alice$`, 'm'));
  assert.match(text.stdout, new RegExp(`^ +member +yes +1 +\\S+ \\S+ +${bob.userId} +Bob$`, 'm'));

  // An unknown room: exit 3.
  const missing = await admin(['room', 'ZZ0000']);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /no room ZZ0000/);
  const missingJson = await admin(['--json', 'room', 'ZZ0000']);
  assert.equal(missingJson.code, 3);
  assert.deepEqual(missingJson.json, { error: { code: 'room_not_found', message: 'no room ZZ0000' } });

  // Totals: at least this room; nchan's own figures from the publisher socket.
  const stats = await admin(['stats', '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  const s = stats.json;
  assert.equal(s.rooms, rooms.json.count);
  assert.ok(s.members >= 2 && s.online >= 1 && s.subscriptions >= 1, JSON.stringify(s));
  assert.ok(s.subscriptionPlaces >= 1, JSON.stringify(s));
  assert.ok(s.timers.presence >= 1 && s.timers.sync >= 1, JSON.stringify(s.timers));
  assert.equal(s.nchanError, null);
  assert.ok(s.nchan.channels >= 1 && s.nchan.subscribers >= 1, JSON.stringify(s.nchan));
  assert.equal(typeof s.nchan.total_published_messages, 'number');
  const statsText = await admin(['stats']);
  assert.equal(statsText.code, 0);
  assert.match(statsText.stdout, /^rooms +\d+$/m);
  assert.match(statsText.stdout, /^online members +\d+$/m);
  assert.match(statsText.stdout, /^subscriptions +\d+ /m);
  assert.match(statsText.stdout, /^ +subscribers +\d+$/m);
  const noNchan = await admin(['--json', 'stats'], { WNC_PUBLISH_SOCKET: path.join(stack.runDir, 'missing.sock') });
  assert.equal(noNchan.code, 0);
  assert.equal(noNchan.json.nchan, null);
  assert.match(noNchan.json.nchanError, /^connect: /);
  ws.terminate();
});

test('close: connected clients get room.closed with the reason, their streams end, the room is gone', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const placesBefore = (await admin(['--json', 'stats'])).json.subscriptionPlaces;
  const ws = await subscribeWs(stack.port, roomId, host.token);
  const sse = await subscribeSse(stack.url, roomId, bob.token);
  assert.equal(sse.status, 200);
  await ws.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);
  const seq = (await snapshot(req, roomId, host.token)).room.seq;

  const t0 = Date.now();
  const closed = await admin(['close', roomId, 'maintenance "tonight" ✓']);
  assert.equal(closed.code, 0, closed.stdout + closed.stderr);
  assert.match(closed.stdout.trim(), new RegExp(`^closed room ${roomId} \\(2 member\\(s\\)\\): room.closed with reason "maintenance "tonight" ✓" published on ${roomId}-\\d+, then the channel closed$`));
  for (const q of [ws, sse]) {
    const e = await q.next('room.closed', 2000);
    assert.equal(e.seq, seq + 1);
    assert.deepEqual(e.data, { reason: 'maintenance "tonight" ✓' });
  }
  await waitFor(() => ws.closed, 2000, 'the WebSocket to close');
  await waitFor(() => sse.closed, 2000, 'the EventSource stream to end');
  console.log(`# close: room.closed received and both streams ended ${Date.now() - t0} ms after the command`);

  // The room is gone, tokens included; the CLI agrees.
  assert.equal((await req('GET', `/api/rooms/${roomId}`)).status, 404);
  const asMember = await req('GET', `/api/rooms/${roomId}`, null, host.token);
  assert.equal(asMember.status, 404);
  assert.equal(asMember.json.error.code, 'room_not_found');
  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'hi' }, bob.token)).status, 404);
  assert.equal((await admin(['room', roomId])).code, 3);
  assert.ok(!(await admin(['--json', 'rooms'])).json.rooms.some((r) => r.id === roomId));
  const again = await admin(['--json', 'close', roomId]);
  assert.equal(again.code, 3);
  assert.equal(again.json.error.code, 'room_not_found');
  // The streams' places under the per-address cap were released by their close hooks.
  await waitFor(async () => (await admin(['--json', 'stats'])).json.subscriptionPlaces === placesBefore, 3000,
    'the subscription places to be released');
  sse.close();
});

test('close --json: the default reason; without nchan the room still closes but exit 1', async () => {
  const a = await makeRoom(req, 'Alice');
  const ws = await subscribeWs(stack.port, a.roomId, a.host.token);
  const r = await admin(['--json', 'close', a.roomId]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual({ ...r.json, channel: undefined },
    { id: a.roomId, closed: true, members: 1, reason: 'closed', channel: undefined, notified: true });
  assert.match(r.json.channel, new RegExp(`^${a.roomId}-\\d+$`));
  assert.deepEqual((await ws.next('room.closed', 2000)).data, { reason: 'closed' });
  await waitFor(() => ws.closed, 2000, 'the WebSocket to close');

  const b = await makeRoom(req, 'Carol');
  const lost = await admin(['--json', 'close', b.roomId], { WNC_PUBLISH_SOCKET: path.join(stack.runDir, 'missing.sock') });
  assert.equal(lost.code, 1);
  assert.equal(lost.json.closed, true);
  assert.equal(lost.json.notified, false);
  assert.equal((await req('GET', `/api/rooms/${b.roomId}`)).status, 404);
});
