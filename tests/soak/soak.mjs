// make soak (not in CI): SOAK_MINUTES (default 30) of churn against a private stack: members
// join, leave, reconnect and get kicked, chat and host actions flow, nginx reloads every few
// minutes. Every 30 s it samples each process's RSS; at the end it checks the nginx error log for
// crashes and that memory stayed flat (the last third's median within 25 % + 4 MiB of the
// second third's, i.e. after warm-up), and prints the figures.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startStack } from '../lib/stack.mjs';
import { api, sleep } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';
import { pageStream } from '../lib/page-stream.mjs';

const MINUTES = Number(process.env.SOAK_MINUTES || 30);
const RELOAD_EVERY_MS = Number(process.env.SOAK_RELOAD_S || 180) * 1000;
const ROOMS = 20;
const SAMPLE_MS = 30000;

const stack = await startStack({ env: { WNC_GRACE_MS: '5000', WNC_WS_PING_S: '2' } });
const req = api(stack.url);
const rooms = [];
let stats = { joins: 0, leaves: 0, kicks: 0, chats: 0, actions: 0, reconnects: 0, reloads: 0, errors5xx: 0 };

function connect(room, member) {
  member.stream = pageStream(stack, room.roomId, member.token, {
    userId: member.userId,
    transports: Math.random() < 0.2 ? ['poll'] : ['ws', 'poll'],
    onFatal: () => { member.gone = true; },
  });
}

async function join(room) {
  const name = `M${Math.floor(Math.random() * 1e9).toString(36)}`;
  const res = await req('POST', `/api/rooms/${room.roomId}/join`, { userName: name }).catch(() => null);
  if (res?.status !== 201) return;
  const m = { userId: res.json.userId, token: res.json.token };
  room.members.push(m);
  connect(room, m);
  stats.joins++;
}

function count5xx(res) { if (res && res.status >= 500) stats.errors5xx++; return res; }

async function churn(room) {
  const r = Math.random();
  const live = room.members.filter((m) => !m.gone);
  const guest = live.find((m) => m !== room.host);
  if (r < 0.15 || live.length < 3) return join(room);
  if (r < 0.25 && guest) {
    guest.stream.close();
    count5xx(await req('POST', `/api/rooms/${room.roomId}/leave`, null, guest.token).catch(() => null));
    guest.gone = true;
    stats.leaves++;
  } else if (r < 0.30 && guest) {
    count5xx(await req('POST', `/api/rooms/${room.roomId}/users/${guest.userId}/kick`, null, room.host.token).catch(() => null));
    stats.kicks++;
  } else if (r < 0.40 && guest) {
    guest.stream.close(); // a page reload
    connect(room, guest);
    stats.reconnects++;
  } else if (r < 0.75) {
    const who = live[Math.floor(Math.random() * live.length)];
    count5xx(await req('POST', `/api/rooms/${room.roomId}/chat`, { text: 'soak' }, who.token).catch(() => null));
    stats.chats++;
  } else {
    const op = ['play', 'pause', 'seek'][Math.floor(Math.random() * 3)];
    count5xx(await req('POST', `/api/rooms/${room.roomId}/video/${op}`, { position: Math.random() * 100 }, room.host.token).catch(() => null));
    stats.actions++;
  }
  room.members = room.members.filter((m) => !m.gone);
}

function rss() {
  const pids = { nginx: [], fcgi: [], pushd: [], redis: [] };
  const master = Number(readFileSync(path.join(stack.runDir, 'nginx.pid'), 'utf8'));
  pids.nginx = [master, ...execFileSync('pgrep', ['-P', String(master)], { encoding: 'utf8' }).trim().split('\n').map(Number)];
  pids.fcgi = [Number(readFileSync(path.join(stack.runDir, 'fcgi.pid'), 'utf8'))];
  pids.pushd = [Number(readFileSync(path.join(stack.runDir, 'pushd.pid'), 'utf8'))];
  pids.redis = [Number(readFileSync(path.join(stack.runDir, 'redis.pid'), 'utf8'))];
  const out = {};
  for (const [name, list] of Object.entries(pids)) {
    out[name] = list.reduce((kb, pid) => {
      try { return kb + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return kb; }
    }, 0);
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

let failed = false;
try {
  for (let i = 0; i < ROOMS; i++) {
    const r = await makeRoom(req, 'Host');
    await req('PUT', `/api/rooms/${r.roomId}/video`, { url: 'https://example.com/v.mp4' }, r.host.token);
    const room = { roomId: r.roomId, host: r.host, members: [r.host] };
    connect(room, r.host);
    rooms.push(room);
    for (let k = 0; k < 4; k++) await join(room);
  }
  const samples = [];
  const t0 = Date.now();
  let nextSample = t0, nextReload = t0 + RELOAD_EVERY_MS;
  while (Date.now() - t0 < MINUTES * 60000) {
    await Promise.all(rooms.map(churn));
    if (Date.now() >= nextReload) {
      execFileSync('nginx', ['-p', stack.runDir, '-c', path.join(stack.runDir, 'nginx.conf'), '-e', path.join(stack.runDir, 'logs/nginx-error.log'), '-s', 'reload']);
      stats.reloads++;
      nextReload += RELOAD_EVERY_MS;
    }
    if (Date.now() >= nextSample) {
      const s = { t: Math.round((Date.now() - t0) / 1000), ...rss() };
      samples.push(s);
      console.log(`soak: t=${s.t}s rss KiB nginx=${s.nginx} fcgi=${s.fcgi} pushd=${s.pushd} redis=${s.redis} ${JSON.stringify(stats)}`);
      nextSample += SAMPLE_MS;
    }
    await sleep(250);
  }
  const log = readFileSync(path.join(stack.runDir, 'logs/nginx-error.log'), 'utf8');
  // A reload leaves nchan's WebSocket/EventSource sockets to the kernel: the old worker logs
  // "open socket #N left in connection M" (and "aborting") per subscriber, then exits normally;
  // clients see the close and reconnect (NCHAN.md). Counted, not a crash.
  const lines = log.split('\n');
  const leftOpen = lines.filter((l) => /\[alert\].*(open socket #\d+ left in connection|aborting$)/.test(l));
  const crashes = lines.filter((l) => /exited on signal|\[alert\]|\[emerg\]|signal 11|force-reaping/.test(l) && !leftOpen.includes(l));
  console.log(`soak: ${leftOpen.length} "open socket left" alert line(s) from reloads`);
  if (crashes.length) { failed = true; console.log(`soak: FAIL: ${crashes.length} crash line(s):\n${crashes.slice(0, 5).join('\n')}`); }
  if (samples.length >= 6) {
    const third = Math.floor(samples.length / 3);
    for (const name of ['nginx', 'fcgi', 'pushd', 'redis']) {
      const mid = median(samples.slice(third, 2 * third).map((s) => s[name]));
      const last = median(samples.slice(2 * third).map((s) => s[name]));
      const grew = last > mid * 1.25 + 4096;
      if (grew) failed = true;
      console.log(`soak: ${name} RSS start ${samples[0][name]} KiB, warm ${mid} KiB, end ${last} KiB${grew ? '  <-- grew' : ''}`);
    }
  }
  console.log(`soak: ${MINUTES} min, ${JSON.stringify(stats)}; ${failed ? 'FAILED' : 'ok'}`);
} finally {
  for (const room of rooms) for (const m of room.members) m.stream?.close();
  await stack.stop();
}
process.exit(failed ? 1 : 0);
