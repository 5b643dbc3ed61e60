// The realtime tier under attack (issue 10): resume ids that crash nchan, the per-address
// subscription cap, presence after nginx workers die or the stack restarts, leave and kick
// isolation, and credentials in logs. Each test runs against a real private stack.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, poolDown, startStack } from '../lib/stack.mjs';
import { api, subscribeWs, subscribeSse, openWs, ticketFor, sleep, waitFor } from '../lib/client.mjs';
import { makeRoom, snapshot } from '../lib/room.mjs';

const stacks = [];
after(async () => { for (const s of stacks) await s.stop(); });

async function stackWith(env, extra = {}) {
  const s = await startStack({ env, ...extra });
  stacks.push(s);
  return s;
}

const cli = (s, ...args) => execFileSync('redis-cli', ['-p', String(s.redisPort), '--raw', ...args], { encoding: 'utf8' }).trim();
const masterPid = (s) => Number(readFileSync(path.join(s.runDir, 'nginx.pid'), 'utf8'));
const workerPids = (s) => execFileSync('pgrep', ['-P', String(masterPid(s))], { encoding: 'utf8' })
  .trim().split('\n').map(Number).sort();

// A GET with any headers (fetch refuses to send Upgrade and Connection): {status, json, headers}.
function rawGet(url, headers, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const r = http.get(url, { headers, timeout: timeoutMs }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, headers: res.headers });
      });
    });
    r.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: 101, json: null, headers: res.headers }); });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
  });
}

// Members' online flags as the room's state says.
async function onlineOf(req, roomId, token) {
  const res = await req('GET', `/api/rooms/${roomId}`, null, token).catch(() => null);
  if (res?.status !== 200) return null;
  return Object.fromEntries(res.json.room.users.map((u) => [u.name, u.online]));
}

test('no resume id reaches nchan: every variant, every transport, fresh and expired channels', async () => {
  const s = await stackWith({});
  const req = api(s.url);
  const expired = await makeRoom(req, 'Alice');
  const fresh = await makeRoom(req, 'Bob');
  const bystander = await makeRoom(req, 'Carol');
  const watch = await subscribeWs(s.port, bystander.roomId, bystander.host.token);
  assert.equal((await req('POST', `/api/rooms/${expired.roomId}/chat`, { text: 'old' }, expired.host.token)).status, 201);
  await sleep(11000); // past nchan_message_timeout (10 s): that channel's last message expired
  assert.equal((await req('POST', `/api/rooms/${fresh.roomId}/chat`, { text: 'new' }, fresh.host.token)).status, 201);
  const pids = workerPids(s);
  const ims = new Date(Date.now() - 60000).toUTCString();
  const variants = [
    ['If-None-Match', { 'if-none-match': '0' }, ''],
    ['If-Modified-Since', { 'if-modified-since': ims }, ''],
    ['If-Modified-Since + If-None-Match', { 'if-modified-since': ims, 'if-none-match': '0' }, ''],
    ['multi-tag If-None-Match', { 'if-modified-since': ims, 'if-none-match': '[0],1,2' }, ''],
    ['Last-Event-ID', { 'last-event-id': `${Math.floor(Date.now() / 1000)}:0` }, ''],
    ['multi-tag Last-Event-ID', { 'last-event-id': '1:[0],1,2' }, ''],
    ['last_event_id argument', {}, '&last_event_id=1:0'],
    ['LAST_EVENT_ID argument', {}, '&LAST_EVENT_ID=1%3A0'],
    ['encoded argument name', {}, '&last%5Fevent%5Fid=1:0'],
  ];
  let checked = 0;
  for (const room of [expired, fresh]) {
    const base = `/api/rooms/${room.roomId}/events`;
    for (const [name, headers, arg] of variants) {
      for (const transport of ['ws', 'sse', 'poll']) {
        const what = `${name} over ${transport}`;
        if (transport === 'ws') {
          const ticket = await ticketFor(s.url, room.roomId, room.host.token);
          await assert.rejects(openWs(`ws://127.0.0.1:${s.port}${base}?ticket=${ticket}${arg}`, headers),
            (e) => e.status === 400, what);
        } else {
          const h = { ...headers };
          let url = `${s.url}${base}`;
          if (transport === 'sse') {
            h.accept = 'text/event-stream';
            url += `?ticket=${await ticketFor(s.url, room.roomId, room.host.token)}${arg}`;
          } else {
            h.authorization = `Bearer ${room.host.token}`;
            url += arg ? `?${arg.slice(1)}` : '';
          }
          const res = await fetch(url, { headers: h, signal: AbortSignal.timeout(5000) });
          const body = await res.json();
          assert.equal(res.status, 400, what);
          assert.equal(body.error.code, 'resume_not_supported', what);
        }
        checked++;
      }
    }
  }
  assert.equal(checked, 2 * variants.length * 3);
  assert.deepEqual(workerPids(s), pids, 'no nginx worker died');
  assert.equal((await req('POST', `/api/rooms/${bystander.roomId}/chat`, { text: 'still here' }, bystander.host.token)).status, 201);
  assert.equal((await watch.next('chat.message')).data.message.text, 'still here');
  assert.equal(watch.closed, false, 'the bystander was never disconnected');
  watch.terminate();
});

test('the per-address cap holds: 40 parallel handshakes, mixed transports, odd Upgrade headers', async () => {
  const s = await stackWith({ WNC_MAX_SUBS_PER_IP: '10', WNC_GRACE_MS: '4000' });
  const req = api(s.url);
  const names = ['Bob', 'Carol', 'Dave', 'Erin', 'Frank'];
  const { roomId, host, guests } = await makeRoom(req, 'Alice', names);
  // Places still held (expired ones are dropped at the next reservation).
  const places = () => Number(cli(s, 'ZCOUNT', 'subs:{127.0.0.1}', String(Date.now()), '+inf'));

  const tickets = [];
  for (let i = 0; i < 40; i++) tickets.push(await ticketFor(s.url, roomId, host.token));
  const opened = await Promise.allSettled(tickets.map((t) =>
    openWs(`ws://127.0.0.1:${s.port}/api/rooms/${roomId}/events?ticket=${t}`)));
  const ok = opened.filter((o) => o.status === 'fulfilled');
  const refused = opened.filter((o) => o.status === 'rejected');
  assert.equal(ok.length, 10, 'exactly the cap got through');
  assert.ok(refused.every((o) => o.reason.status === 429), 'the others got 429');
  await waitFor(() => places() === 10, 3000, '10 places held');
  for (const o of ok) o.value.close();
  await waitFor(() => places() === 0, 3000, 'places released on close');

  // Mixed: 4 WebSocket, 3 EventSource, 3 long-polls (one place per member's poll).
  const ws = [];
  for (let i = 0; i < 4; i++) ws.push(await subscribeWs(s.port, roomId, host.token));
  const sse = [];
  for (let i = 0; i < 3; i++) sse.push(await subscribeSse(s.url, roomId, host.token));
  assert.ok(sse.every((q) => q.status === 200));
  const polls = guests.slice(0, 3).map((g) => fetch(`${s.url}/api/rooms/${roomId}/events`,
    { headers: { authorization: `Bearer ${g.token}` } }).then((r) => r.status));
  await waitFor(() => places() === 10, 3000, '10 mixed places');
  const over = [
    ['odd Upgrade', { upgrade: 'x' }],
    ['Upgrade: websocket without Connection: upgrade', { upgrade: 'websocket', connection: 'keep-alive' }],
    ['EventSource', { accept: 'text/event-stream' }],
    ['long-poll', {}],
  ];
  for (const [what, headers] of over) {
    const res = await rawGet(`${s.url}/api/rooms/${roomId}/events`,
      { authorization: `Bearer ${guests[4].token}`, ...headers }, 5000);
    assert.equal(res.status, 429, what);
    assert.equal(res.json.error.code, 'rate_limited', what);
    assert.ok(Number(res.headers['retry-after']) >= 1, what);
  }
  await assert.rejects(subscribeWs(s.port, roomId, host.token), (e) => e.status === 429);
  for (const q of ws) q.close();
  for (const q of sse) q.close();
  await Promise.all(polls);
  // An odd Upgrade is a long-poll that ends within its poll timeout (grace / 2 = 2 s).
  await waitFor(() => places() <= 3, 3000, 'stream places released');
  const t0 = Date.now();
  const odd = await rawGet(`${s.url}/api/rooms/${roomId}/events`,
    { authorization: `Bearer ${guests[3].token}`, upgrade: 'x' });
  assert.notEqual(odd.status, 101);
  assert.ok(Date.now() - t0 < 4000, `the odd request was held ${Date.now() - t0} ms`);
  await waitFor(() => places() === 0, 12000, 'long-poll places expire');
});

test('presence and caps heal after kill -9 of nginx workers and after a stack restart', async () => {
  const redisPort = await freePort();
  const redisDir = mkdtempSync(path.join(os.tmpdir(), 'wnc-redis-'));
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir,
    '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await waitFor(() => { try { return execFileSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8' }).includes('PONG'); } catch { return false; } }, 5000, 'redis');
    const env = { WNC_REDIS_EXTERNAL: '1', WNC_GRACE_MS: '4000', WNC_WS_PING_S: '1', WNC_MAX_SUBS_PER_IP: '6' };
    const s = await startStack({ env, redisPort });
    const req = api(s.url);
    const { roomId, host, guests } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
    let socks = [];
    for (const m of [host, ...guests]) socks.push(await subscribeWs(s.port, roomId, m.token));
    await waitFor(async () => Object.values(await onlineOf(req, roomId, host.token)).every(Boolean), 3000, 'all online');
    assert.equal(cli(s, 'ZCARD', 'subs:{127.0.0.1}'), '3');

    // kill -9 every nginx worker: no unsubscribe hook fires; the master starts new workers.
    const t0 = Date.now();
    for (const pid of workerPids(s)) process.kill(pid, 'SIGKILL');
    await waitFor(async () => {
      const on = await onlineOf(req, roomId, host.token);
      return on && Object.values(on).every((v) => v === false);
    }, 3000 + 1000, 'everyone offline after the crash');
    const offlineMs = Date.now() - t0;
    assert.equal(cli(s, 'ZCARD', 'subs:{127.0.0.1}'), '0', 'the cap released the dead streams');
    assert.equal(cli(s, 'HLEN', `leases:{${roomId}}`), '0');
    // Nobody reconnects: removed after the grace, the room goes with its last member.
    await waitFor(async () => (await req('GET', `/api/rooms/${roomId}`).catch(() => null))?.status === 404, 4000 + 4000, 'room removed');
    const removedMs = Date.now() - t0;
    console.log(`# worker kill: offline after ${offlineMs} ms, removed after ${removedMs} ms (grace 4000 ms)`);

    // Restart with members connected: the old stack's nginx dies without hooks (kill -9 of the
    // whole process group), a new stack comes up on the same Redis.
    const room2 = await makeRoom(req, 'Dora', ['Eve']);
    const watcher = await makeRoom(req, 'Walter');
    socks = [];
    for (const m of [room2.host, ...room2.guests]) socks.push(await subscribeWs(s.port, room2.roomId, m.token));
    const wsock = await subscribeWs(s.port, watcher.roomId, watcher.host.token);
    await waitFor(() => cli(s, 'ZCARD', 'subs:{127.0.0.1}') === '3', 3000, 'three streams held');
    process.kill(-masterPid(s), 'SIGKILL');
    await s.stop();
    const s2 = await startStack({ env, redisPort });
    stacks.push(s2);
    const req2 = api(s2.url);
    const t1 = Date.now();
    await waitFor(async () => {
      const on = await onlineOf(req2, room2.roomId, room2.host.token);
      return on && Object.values(on).every((v) => v === false) && cli(s2, 'ZCARD', 'subs:{127.0.0.1}') === '0';
    }, 4000, 'offline and no places after the restart');
    console.log(`# stack restart: presence and cap right after ${Date.now() - t1} ms`);
    // The cap is whole again: six new streams fit.
    const fresh = [];
    for (let i = 0; i < 6; i++) fresh.push(await subscribeWs(s2.port, room2.roomId, room2.host.token));
    await waitFor(async () => (await onlineOf(req2, room2.roomId, room2.host.token)).Dora === true, 3000, 'Dora online again');
    for (const q of fresh) q.terminate();
    for (const q of [...socks, wsock]) q.terminate();
  } finally {
    redis.kill('SIGKILL');
    rmSync(redisDir, { recursive: true, force: true });
  }
});

test('join and leave 20 times in a room of 30: nobody is disconnected, every event arrives in order', async () => {
  const s = await stackWith({});
  const req = api(s.url);
  const names = Array.from({ length: 29 }, (_, i) => `Member${i}`);
  const { roomId, host, guests } = await makeRoom(req, 'Alice', names);
  const subs = [];
  for (const m of [host, ...guests]) subs.push(await subscribeWs(s.port, roomId, m.token));
  await waitFor(async () => Object.values(await onlineOf(req, roomId, host.token)).every(Boolean), 5000, 'all online');
  await sleep(1300); // the access log is flushed every second: count from a flushed log
  for (const q of subs) q.events.length = 0;
  const logFile = path.join(s.runDir, 'logs/access.log');
  const linesBefore = readFileSync(logFile, 'utf8').split('\n').length;
  for (let i = 0; i < 20; i++) {
    const joined = await req('POST', `/api/rooms/${roomId}/join`, { userName: `Visitor${i}` });
    assert.equal(joined.status, 201);
    assert.equal((await req('POST', `/api/rooms/${roomId}/leave`, null, joined.json.token)).status, 204);
  }
  await sleep(7000); // past the linger check (5 s): a leaver without streams retires nothing
  for (const q of subs) {
    assert.equal(q.closed, false, 'no subscriber was disconnected');
    const got = q.events.filter((e) => e.type === 'user.joined' || e.type === 'user.left');
    // Every leave is announced; a join is announced at once, or (within 100 ms of the room's
    // last announcement) by the room's flush, which leaves out a joiner already gone.
    const left = got.filter((e) => e.type === 'user.left');
    assert.equal(left.length, 20);
    assert.ok(left.every((e) => e.data.reason === 'left'));
    assert.ok(got.length - left.length <= 20);
    for (let i = 1; i < got.length; i++) assert.equal(got[i].seq, got[i - 1].seq + 1, 'seq order, no gap');
  }
  const linesAfter = readFileSync(logFile, 'utf8').split('\n').length;
  assert.equal(linesAfter - linesBefore, 40, 'a join and a leave cost one request each, nothing else');
  for (const q of subs) q.terminate();
});

test('a kick closes every stream of the kicked member within 1 s; the others get user.left', async () => {
  const s = await stackWith({});
  const req = api(s.url);
  const { roomId, host, guests: [bob, carol] } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
  const hostWs = await subscribeWs(s.port, roomId, host.token);
  const carolSse = await subscribeSse(s.url, roomId, carol.token);
  const bobWs = await subscribeWs(s.port, roomId, bob.token);
  const bobSse = await subscribeSse(s.url, roomId, bob.token);
  await waitFor(async () => Object.values(await onlineOf(req, roomId, host.token)).every(Boolean), 3000, 'all online');
  let pollDone = null;
  const poll = fetch(`${s.url}/api/rooms/${roomId}/events`, { headers: { authorization: `Bearer ${bob.token}` } })
    .then(async (r) => { pollDone = Date.now(); return { status: r.status, text: await r.text() }; });
  await sleep(300);
  // The poll may have returned at once with Bob's own presence; hold one open for the kick.
  const t0 = Date.now();
  assert.equal((await req('POST', `/api/rooms/${roomId}/users/${bob.userId}/kick`, null, host.token)).status, 204);
  const left = await hostWs.next('user.left');
  assert.deepEqual(left.data, { userId: bob.userId, reason: 'kicked' });
  const carolLeft = await carolSse.next('user.left');
  assert.equal(carolLeft.seq, left.seq);
  await waitFor(() => bobWs.closed && bobSse.closed && pollDone !== null, 1000, 'all of Bob\'s streams closed');
  console.log(`# kick: Bob's streams closed ${Date.now() - t0} ms after the kick`);
  await poll;
  const bobSeen = [...bobWs.events, ...bobSse.events];
  // After the kick the room goes on; nothing of it reaches Bob.
  const hostWs2 = await subscribeWs(s.port, roomId, host.token);
  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'after the kick' }, host.token)).status, 201);
  assert.equal((await hostWs2.next('chat.message')).data.message.text, 'after the kick');
  await sleep(300);
  const after = [...bobWs.events, ...bobSse.events].slice(bobSeen.length);
  assert.equal(after.length, 0, 'Bob received nothing after his removal');
  assert.ok(!bobSeen.some((e) => e.type === 'chat.message'));
  await assert.rejects(ticketFor(s.url, roomId, bob.token), (e) => e.status === 401);
  const again = await fetch(`${s.url}/api/rooms/${roomId}/events`, { headers: { authorization: `Bearer ${bob.token}` } });
  assert.equal(again.status, 401);
  hostWs.terminate(); hostWs2.terminate(); carolSse.close();
});

test('no token and no unexpired ticket in any log, with the worker pool gone or saturated', async () => {
  const s = await stackWith({ WNC_WORKERS: '2' });
  const req = api(s.url);
  const { roomId, host, guests } = await makeRoom(req, 'Alice', ['Bob']);
  const secrets = [host.token, guests[0].token];
  const tickets = [];
  for (let i = 0; i < 12; i++) tickets.push(await ticketFor(s.url, roomId, host.token));
  secrets.push(...tickets);
  const attempt = async (ticket) => {
    const res = await fetch(`${s.url}/api/rooms/${roomId}/events?ticket=${ticket}`,
      { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(3000) }).catch(() => null);
    if (res) await res.body?.cancel();
    return res?.status ?? 0;
  };

  // 1. The pool is gone (crashed, not yet restarted): its socket does not exist (connect fails
  // at once), and the connections nginx kept died with it.
  const back = await poolDown(s, { noSocket: true });
  try {
    for (const t of tickets.slice(0, 4)) assert.ok((await attempt(t)) >= 500);
    await req('GET', '/api/time');
    const ws = openWs(`ws://127.0.0.1:${s.port}/api/rooms/${roomId}/events?ticket=${tickets[4]}`);
    await assert.rejects(ws);
  } finally {
    await back();
  }

  // 2. The pool is saturated: the workers are stopped and their listen backlog fills up.
  const fcgiPid = Number(readFileSync(path.join(s.runDir, 'fcgi.pid'), 'utf8'));
  process.kill(fcgiPid, 'SIGSTOP');
  const filler = [];
  try {
    for (let i = 0; i < 1100; i++) {
      filler.push(fetch(`${s.url}/api/time`, { signal: AbortSignal.timeout(8000) }).then((r) => r.status, () => 0));
    }
    await sleep(1500);
    for (const t of tickets.slice(5, 9)) assert.ok((await attempt(t)) !== 200);
  } finally {
    process.kill(fcgiPid, 'SIGCONT');
  }
  const statuses = await Promise.all(filler);
  assert.ok(statuses.some((x) => x >= 500), 'the backlog overflowed');
  // 3. nginx's own rejections: oversized header, bad request line.
  await fetch(`${s.url}/api/rooms/${roomId}/events?ticket=${tickets[9]}`, { headers: { 'x-big': 'x'.repeat(20000) } }).catch(() => null);
  execFileSync('curl', ['-s', '-o', '/dev/null', '--path-as-is', `${s.url}/api/rooms/${roomId}/events?ticket=${tickets[10]}%00`]);

  await sleep(500);
  const logs = readdirSync(path.join(s.runDir, 'logs')).map((f) => [f, readFileSync(path.join(s.runDir, 'logs', f), 'utf8')]);
  const errorLog = logs.find(([f]) => f === 'nginx-error.log')[1];
  assert.match(errorLog, /connect\(\) to unix:/, 'the failures were logged');
  assert.doesNotMatch(errorLog, /uninitialized/);
  for (const [file, text] of logs) {
    for (const secret of secrets) {
      const line = text.split('\n').find((l) => l.includes(secret.split('.')[1]));
      assert.equal(line, undefined, `a credential in ${file}`);
    }
  }
  assert.equal((await req('GET', '/health')).status, 200, 'the stack recovered');
});

test('streams carry the security headers and answer the site\'s origin only; nginx workers are not root', async () => {
  const s = await stackWith({});
  const req = api(s.url);
  const { roomId, host } = await makeRoom(req, 'Alice');
  const sse = await fetch(`${s.url}/api/rooms/${roomId}/events?ticket=${await ticketFor(s.url, roomId, host.token)}`,
    { headers: { accept: 'text/event-stream', origin: s.url } });
  assert.equal(sse.status, 200);
  assert.match(sse.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(sse.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(sse.headers.get('cache-control'), 'no-store');
  assert.notEqual(sse.headers.get('access-control-allow-origin'), '*');
  await sse.body.cancel();
  // A page on another origin cannot open a stream, even with a valid ticket.
  const ticket = await ticketFor(s.url, roomId, host.token);
  await assert.rejects(openWs(`ws://127.0.0.1:${s.port}/api/rooms/${roomId}/events?ticket=${ticket}`,
    { origin: 'http://evil.example' }), (e) => e.status === 403);
  const own = await openWs(`ws://127.0.0.1:${s.port}/api/rooms/${roomId}/events?ticket=${await ticketFor(s.url, roomId, host.token)}`,
    { origin: s.url });
  own.terminate();
  // Requests nginx rejects itself still carry the CSP (a map, not `set`).
  const bad = execFileSync('curl', ['-s', '-i', '-H', `x-big: ${'x'.repeat(9000)}`, `${s.url}/`], { encoding: 'utf8' });
  assert.match(bad, /^HTTP\/1\.1 4\d\d/);
  assert.match(bad, /Content-Security-Policy: default-src/i);
  if (process.getuid() === 0) {
    for (const pid of workerPids(s)) {
      const user = execFileSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).trim();
      assert.notEqual(user, 'root', `nginx worker ${pid} runs as root`);
    }
  }
});
