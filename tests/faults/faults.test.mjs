// Fault injection (make test-faults): a steady load of rooms with chat and host actions and
// subscribed members, then one fault at a time. After each: every client has reconnected and
// resynced by itself (with the same code the browser runs, web/js/events.js), every chat
// message that got a 201 is in the room's history, no timer fired twice, presence and the
// per-address cap are right. The time to recover is printed for each fault.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort } from '../lib/stack.mjs';
import { api, sleep } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';
import { pageStream } from '../lib/page-stream.mjs';

const ROOMS = 6;
const GUESTS = 3; // + the host: 4 members per room
const RECOVER_MS = 30000;
const PLACES_SETTLE_MS = 5000; // pushd's owner sweep (2 s) and a reconnect
let FSYNC = process.env.WNC_REDIS_FSYNC || 'everysec';

let stack, req, redis, redisPort, redisDir;
const rooms = [];
let load = null;

function startRedis() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir,
    '--save', '', '--appendonly', 'yes', '--appendfsync', FSYNC], { stdio: 'ignore' });
}
const cli = (...args) => execFileSync('redis-cli', ['-p', String(redisPort), '--raw', ...args], { encoding: 'utf8' }).trim();
const redisUp = () => { try { return cli('PING') === 'PONG'; } catch { return false; } };

async function waitFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v = false;
    try { v = await fn(); } catch { v = false; }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// One member's browser, reduced to what the checks need: the stream (events.js), the seq it
// has applied, and every user.left it saw.
function client(room, member, transports) {
  const c = { member, seq: null, status: null, lefts: [], gaps: 0 };
  c.stream = pageStream(stack, room.roomId, member.token, {
    userId: member.userId,
    transports,
    onState: (state) => { c.seq = state.room.seq; },
    onEvent: (e) => {
      if (typeof e.seq === 'number' && e.type !== 'typing' && e.type !== 'video.sync') {
        if (c.seq !== null && e.seq !== c.seq + 1) c.gaps++;
        c.seq = e.seq;
      }
      if (e.type === 'user.left') c.lefts.push(e.data.userId);
    },
    onStatus: (s) => { c.status = s; },
    onFatal: (err) => { c.fatal = err; },
  });
  return c;
}

// The load: every 500 ms one chat in each room (recording the acknowledged ids) and, now and
// then, a host action. Failures during a fault are expected and not recorded as sent.
function startLoad() {
  let stop = false;
  const loop = (async () => {
    let tick = 0;
    while (!stop) {
      tick++;
      await Promise.all(rooms.map(async (room, i) => {
        const who = room.members[tick % room.members.length];
        const r = await req('POST', `/api/rooms/${room.roomId}/chat`, { text: `m${tick}` }, who.token).catch(() => null);
        if (r?.status === 201) room.acked.push(r.json.message.id);
        if (tick % 4 === i % 4) {
          const op = tick % 8 < 4 ? 'play' : 'pause';
          await req('POST', `/api/rooms/${room.roomId}/video/${op}`, { position: tick }, room.host.token).catch(() => null);
        }
      }));
      await sleep(500);
    }
  })();
  return { stop: async () => { stop = true; await loop; } };
}

// Waits until every client is live at its room's current seq; returns the time it took.
async function recovered(t0, what) {
  const where = async () => {
    const out = [];
    for (const room of rooms) {
      const state = await req('GET', `/api/rooms/${room.roomId}`, null, room.host.token).catch(() => null);
      out.push(`${room.roomId}@${state?.json?.room?.seq}: ${room.clients.map((c) => `${c.stream.transport}/${c.status}/${c.seq}`).join(' ')}`);
    }
    return out.join('; ');
  };
  await waitFor(async () => {
    for (const room of rooms) {
      const state = await req('GET', `/api/rooms/${room.roomId}`, null, room.host.token);
      if (state.status !== 200) return false;
      for (const c of room.clients) {
        if (c.fatal) throw new Error(`${what}: a client gave up: ${c.fatal.message}`);
        if (c.status !== 'live' || c.seq !== state.json.room.seq) return false;
      }
    }
    return true;
  }, RECOVER_MS, `every client live and in step after ${what}`).catch(async (e) => {
    throw new Error(`${e.message}: ${await where()}`);
  });
  return Date.now() - t0;
}

// Pauses the load, lets everything settle, and checks the invariants.
async function check(what, { lossAllowed = false } = {}) {
  await load.stop();
  const t0 = Date.now();
  await sleep(300);
  await recovered(t0, what);
  let lost = 0;
  for (const room of rooms) {
    const chat = await req('GET', `/api/rooms/${room.roomId}/chat`, null, room.host.token);
    assert.equal(chat.status, 200);
    const have = new Set(chat.json.messages.map((m) => m.id));
    const oldest = chat.json.messages.length ? chat.json.messages[0].id : Infinity;
    // The history keeps the last 20: every acknowledged message newer than its oldest is there.
    for (const id of room.acked) if (id >= oldest && !have.has(id)) lost++;
    // Acknowledged ids can only be lost, never reordered: ids keep increasing.
    room.acked = room.acked.filter((id) => id >= oldest);
    const state = await req('GET', `/api/rooms/${room.roomId}`, null, room.host.token);
    assert.equal(state.json.room.users.length, room.members.length, `${what}: nobody was removed`);
    assert.ok(state.json.room.users.every((u) => u.online), `${what}: everyone online`);
    for (const c of room.clients) {
      assert.equal(c.lefts.length, 0, `${what}: no user.left`);
      assert.equal(c.gaps, 0, `${what}: events reached the page in seq order, without gaps`);
    }
  }
  // Every open stream holds a place under the address cap, and nothing else does. Places can lag
  // the streams by pushd's owner sweep (PLACES_SETTLE_MS): an nginx worker that exits (a reload)
  // fires no unsubscribe hooks, so its streams' places go when pushd sees it gone, while their
  // clients may already hold new ones.
  const streams = rooms.reduce((n, room) => n + room.clients.filter((c) => c.stream.transport !== 'poll').length, 0);
  const polls = rooms.reduce((n, room) => n + room.clients.filter((c) => c.stream.transport === 'poll').length, 0);
  let places;
  await waitFor(() => {
    places = Number(cli('ZCOUNT', 'subs:{127.0.0.1}', String(Date.now()), '+inf'));
    return places >= streams && places <= streams + polls;
  }, PLACES_SETTLE_MS, 'places').catch(() => {
    assert.fail(`${what}: ${places} places for ${streams} streams and ${polls} polls`);
  });
  if (!lossAllowed) assert.equal(lost, 0, `${what}: acknowledged chat messages lost`);
  load = startLoad();
  return lost;
}

before(async () => {
  redisPort = await freePort();
  redisDir = mkdtempSync(path.join(os.tmpdir(), 'wnc-faults-redis-'));
  chmodSync(redisDir, 0o700);
  startRedis();
  await waitFor(redisUp, 5000, 'redis');
  stack = await startStack({ redisPort, env: { WNC_REDIS_EXTERNAL: '1', WNC_WS_PING_S: '2', WNC_MAX_SUBS_PER_IP: '1000', WNC_HEARTBEAT_MS: '1000' } });
  req = api(stack.url);
  for (let i = 0; i < ROOMS; i++) {
    const names = Array.from({ length: GUESTS }, (_, g) => `Guest${g}`);
    const r = await makeRoom(req, 'Host', names);
    assert.equal((await req('PUT', `/api/rooms/${r.roomId}/video`, { url: 'https://example.com/v.mp4' }, r.host.token)).status, 200);
    const room = { roomId: r.roomId, host: r.host, members: [r.host, ...r.guests], acked: [], clients: [] };
    // Most browsers take WebSocket; one member per room long-polls.
    room.clients = room.members.map((m, k) => client(room, m, k === GUESTS ? ['poll'] : ['ws', 'poll']));
    rooms.push(room);
  }
  await recovered(Date.now(), 'start');
  load = startLoad();
  await sleep(2000);
});

after(async () => {
  if (load) await load.stop();
  for (const room of rooms) for (const c of room.clients) c.stream.close();
  await stack?.stop();
  redis?.kill('SIGKILL');
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
});

const masterPid = () => Number(readFileSync(path.join(stack.runDir, 'nginx.pid'), 'utf8'));
const pidOf = (name) => Number(readFileSync(path.join(stack.runDir, `${name}.pid`), 'utf8'));
const workerPids = () => execFileSync('pgrep', ['-P', String(masterPid())], { encoding: 'utf8' }).trim().split('\n').map(Number);

async function fault(what, inject, opts) {
  const t0 = Date.now();
  await inject();
  await sleep(1500); // the load runs through the fault
  const ms = await recovered(t0, what);
  const lost = await check(what, opts);
  console.log(`# ${what}: recovered in ${ms} ms${lost ? `, ${lost} acknowledged message(s) lost` : ''}`);
  return lost;
}

test('kill -9 of one nginx worker', async () => {
  await fault('nginx worker kill -9', async () => { process.kill(workerPids()[0], 'SIGKILL'); });
});

test('kill -9 of wnc-fcgi (restarted by the supervisor)', async () => {
  const old = pidOf('fcgi');
  await fault('wnc-fcgi kill -9', async () => { process.kill(old, 'SIGKILL'); });
  assert.notEqual(pidOf('fcgi'), old, 'a new wnc-fcgi runs');
});

test('kill -9 of wnc-pushd (restarted by the supervisor)', async () => {
  const old = pidOf('pushd');
  await fault('wnc-pushd kill -9', async () => { process.kill(old, 'SIGKILL'); });
  assert.notEqual(pidOf('pushd'), old, 'a new wnc-pushd runs');
});

test('nginx -s reload', async () => {
  const before = workerPids();
  await fault('nginx reload', async () => {
    execFileSync('nginx', ['-p', stack.runDir, '-c', path.join(stack.runDir, 'nginx.conf'), '-e', path.join(stack.runDir, 'logs/nginx-error.log'), '-s', 'reload']);
  });
  assert.ok(workerPids().every((p) => !before.includes(p)), 'new workers');
});

test('Redis unavailable for 5 s', async () => {
  await fault('redis unavailable 5 s', async () => {
    redis.kill('SIGSTOP');
    await sleep(5000);
    redis.kill('SIGCONT');
  });
});

test(`Redis kill -9 and restart from its AOF (appendfsync ${FSYNC})`, async () => {
  const lost = await fault(`redis kill -9 (appendfsync ${FSYNC})`, async () => {
    redis.kill('SIGKILL');
    await sleep(500);
    startRedis();
    await waitFor(redisUp, 10000, 'redis back');
  }, { lossAllowed: FSYNC !== 'always' });
  if (FSYNC === 'always') assert.equal(lost, 0);
});

test('Redis kill -9 with appendfsync always: nothing acknowledged is lost', async () => {
  FSYNC = 'always';
  cli('CONFIG', 'SET', 'appendfsync', 'always');
  const lost = await fault('redis kill -9 (appendfsync always)', async () => {
    redis.kill('SIGKILL');
    await sleep(500);
    startRedis();
    await waitFor(redisUp, 10000, 'redis back');
  });
  assert.equal(lost, 0);
});

test('the nginx error log shows no crash', () => {
  const log = readFileSync(path.join(stack.runDir, 'logs/nginx-error.log'), 'utf8');
  assert.doesNotMatch(log, /exited on signal (?!9)|\[alert\].*signal 11|force-reaping/);
});
