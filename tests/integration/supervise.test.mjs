// Supervision and clean stops (scripts/stack.sh, fcgi/main.c, pushd/main.c): a crashed wnc-fcgi
// or wnc-pushd is restarted with backoff while the stack keeps running; one that cannot start
// stops the stack; SIGTERM to wnc-fcgi answers what it took and publishes what it queued; a
// loaded stack with clients that stopped reading stops without nchan's force-reaping crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startStack } from '../lib/stack.mjs';
import { api, sleep, subscribeWs, waitFor } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';

const pidOf = (s, name) => Number(readFileSync(path.join(s.runDir, `${name}.pid`), 'utf8'));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const logOf = (s, name) => readFileSync(path.join(s.runDir, 'logs', `${name}.log`), 'utf8');

// Milliseconds until GET /api/time answers 200 again (through nginx and a wnc-fcgi thread).
async function apiBackAfter(s, t0, timeoutMs = 5000) {
  await waitFor(async () => (await fetch(`${s.url}/api/time`).catch(() => null))?.status === 200,
    timeoutMs, 'the API answers again', 20);
  return Date.now() - t0;
}

// The stack's own process (scripts/stack.sh), to see that it keeps running or stops.
const stackPid = (s) => Number(readFileSync(path.join(s.runDir, 'stack.pid'), 'utf8'));

test('kill -9 of wnc-fcgi: restarted with backoff, the API answers again, the stack runs on', async () => {
  const s = await startStack();
  try {
    const req = api(s.url);
    const stack = stackPid(s), nginx = pidOf(s, 'nginx');
    const times = [];
    for (const delay of ['0.2', '0.4']) {
      const old = pidOf(s, 'fcgi');
      const t0 = Date.now();
      process.kill(old, 'SIGKILL');
      const ms = await apiBackAfter(s, t0);
      times.push(ms);
      assert.ok(ms < 3000, `API back after ${ms} ms`);
      assert.notEqual(pidOf(s, 'fcgi'), old, 'fcgi.pid names the new process');
      assert.ok(alive(pidOf(s, 'fcgi')));
      // The second crash comes within 30 s of the restart: the pause doubles.
      const line = `wnc-fcgi exited (signal 9); restarting in ${delay} s`;
      assert.ok(s.output().includes(`stack: ${line}`), s.output());
      assert.match(logOf(s, 'fcgi'), new RegExp(`stack\\[${stack}\\] warn: ${line.replace(/[().]/g, '\\$&')}`));
    }
    console.log(`# wnc-fcgi kill -9: API answers again after ${times.join(' ms, then ')} ms (pauses 0.2 s, 0.4 s)`);
    assert.ok(alive(stack) && alive(nginx), 'the stack and nginx run on');
    assert.equal(pidOf(s, 'nginx'), nginx);
    // The restarted process serves whole requests, socket group included when run as root.
    const { roomId, host } = await makeRoom(req, 'Alice');
    assert.equal((await req('GET', `/api/rooms/${roomId}`, null, host.token)).status, 200);
    if (process.getuid?.() === 0) {
      const st = statSync(path.join(s.runDir, 'fcgi.sock'));
      const nogroup = Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]);
      assert.equal(st.gid, nogroup, 'the new socket belongs to WNC_FCGI_SOCKET_GROUP');
      assert.equal(st.mode & 0o777, 0o660);
    }
  } finally {
    await s.stop();
  }
});

test('kill -9 of wnc-pushd: restarted, and a grace timeout still fires', async () => {
  const GRACE_MS = 1500;
  const s = await startStack({ env: { WNC_GRACE_MS: String(GRACE_MS) } });
  try {
    const req = api(s.url);
    const { roomId, host } = await makeRoom(req, 'Alice');
    const ws = await subscribeWs(s.port, roomId, host.token);
    // Ghost never subscribes: pushd removes it after the grace, from a timer kept in Redis.
    const ghost = await req('POST', `/api/rooms/${roomId}/join`, { userName: 'Ghost' });
    assert.equal(ghost.status, 201);
    const old = pidOf(s, 'pushd');
    const t0 = Date.now();
    process.kill(old, 'SIGKILL');
    await waitFor(() => pidOf(s, 'pushd') !== old && logOf(s, 'pushd').includes(`wnc-pushd[${pidOf(s, 'pushd')}] info: started`),
      3000, 'a new wnc-pushd');
    const restartMs = Date.now() - t0;
    const left = await ws.next((e) => e.type === 'user.left' && e.data.userId === ghost.json.userId, GRACE_MS + 3000);
    assert.equal(left.data.reason, 'timeout');
    console.log(`# wnc-pushd kill -9: running again after ${restartMs} ms; grace timeout fired ${Date.now() - t0} ms after the kill (grace ${GRACE_MS} ms)`);
    assert.ok(s.output().includes('stack: wnc-pushd exited (signal 9); restarting in 0.2 s'), s.output());
    assert.ok(alive(stackPid(s)));
    ws.terminate();
  } finally {
    await s.stop();
  }
});

test('a daemon that exits at every start stops the whole stack', async () => {
  // A bin dir whose wnc-fcgi runs the real one once, then fails at once at every start.
  const bin = mkdtempSync(path.join(os.tmpdir(), 'wnc-fakebin-'));
  writeFileSync(path.join(bin, 'wnc-fcgi'), `#!/bin/sh
if [ -e "${bin}/ran" ]; then echo "fake wnc-fcgi: cannot start" >&2; exit 3; fi
touch "${bin}/ran"
exec "${ROOT}/build/wnc-fcgi"
`);
  chmodSync(path.join(bin, 'wnc-fcgi'), 0o755);
  symlinkSync(path.join(ROOT, 'build/wnc-pushd'), path.join(bin, 'wnc-pushd'));
  const s = await startStack({ env: { WNC_BIN_DIR: bin } });
  try {
    const stack = stackPid(s), nginx = pidOf(s, 'nginx'), redis = pidOf(s, 'redis'), pushd = pidOf(s, 'pushd');
    await sleep(1000); // the real one ran its first second: its crash is not a failed start
    const t0 = Date.now();
    process.kill(pidOf(s, 'fcgi'), 'SIGKILL');
    // Pauses 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s, then the fifth quick exit stops everything.
    await waitFor(() => !alive(stack), 15000, 'the stack stops');
    const ms = Date.now() - t0;
    const out = s.output();
    assert.match(out, /stack: wnc-fcgi exited \(status 3\); restarting in 3\.2 s/);
    assert.match(out, /stack: wnc-fcgi exited \(status 3\) within 1 s of its start 5 times in a row; stopping/);
    assert.equal((out.match(/fake wnc-fcgi: cannot start/g) ?? []).length, 0, 'its stderr goes to its log');
    assert.equal((logOf(s, 'fcgi').match(/fake wnc-fcgi: cannot start/g) ?? []).length, 5);
    for (const pid of [nginx, redis, pushd]) assert.ok(!alive(pid), `process ${pid} stopped too`);
    console.log(`# a wnc-fcgi that cannot start: the stack stopped ${ms} ms after the first crash`);
  } finally {
    await s.stop();
    rmSync(bin, { recursive: true, force: true });
  }
});

test('SIGTERM to wnc-fcgi: requests taken get whole answers, their events are delivered, it restarts', async () => {
  const s = await startStack();
  try {
    const req = api(s.url);
    const { roomId, host, guests } = await makeRoom(req, 'Alice', ['Bob', 'Carol', 'Dave']);
    const members = [host, ...guests];
    const ws = await subscribeWs(s.port, roomId, host.token);
    const delivered = async (texts) => {
      for (const text of texts) {
        await ws.next((e) => e.type === 'chat.message' && e.data.message.text === text, 5000);
      }
    };

    // 1. Requests waiting in the backlog of a wnc-fcgi that is told to stop are all answered,
    // and their events, still queued when the last request is done (nginx's workers are
    // stopped for a second, so nchan takes nothing), are published before it exits.
    const first = pidOf(s, 'fcgi');
    const nginxWorkers = execFileSync('pgrep', ['-P', String(pidOf(s, 'nginx'))], { encoding: 'utf8' })
      .trim().split('\n').map(Number);
    process.kill(first, 'SIGSTOP');
    const texts = Array.from({ length: 24 }, (_, i) => `backlog ${i}`);
    const posts = texts.map((text, i) => req('POST', `/api/rooms/${roomId}/chat`, { text }, members[i % 4].token));
    await sleep(500);
    for (const pid of nginxWorkers) process.kill(pid, 'SIGSTOP');
    try {
      process.kill(first, 'SIGTERM');
      process.kill(first, 'SIGCONT');
      await sleep(1000);
    } finally {
      for (const pid of nginxWorkers) process.kill(pid, 'SIGCONT');
    }
    const answers = await Promise.all(posts);
    answers.forEach((r, i) => {
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.message.text, texts[i], 'the whole answer');
    });
    await delivered(texts);
    await waitFor(() => !alive(first), 5000, 'the old wnc-fcgi exits');
    assert.match(logOf(s, 'fcgi'), new RegExp(`wnc-fcgi\\[${first}\\] info: stopped: requests finished in \\d+ ms, queued events all sent`));
    await waitFor(() => s.output().includes('stack: wnc-fcgi exited (status 0); restarting in 0.2 s'), 3000, 'the restart notice');

    // 2. Under load: four clients post as fast as they can while wnc-fcgi stops and restarts.
    // Each request either got its whole answer (and then its event is delivered) or was
    // refused at once as overload (503 JSON); nothing else, nothing cut short.
    await apiBackAfter(s, Date.now());
    const second = pidOf(s, 'fcgi');
    assert.notEqual(second, first);
    let running = true;
    const outcomes = [];
    const loops = members.map(async (m, k) => {
      for (let i = 0; running; i++) {
        const text = `load ${k}-${i}`;
        outcomes.push({ text, r: await req('POST', `/api/rooms/${roomId}/chat`, { text }, m.token).catch((e) => ({ status: 0, text: String(e) })) });
      }
    });
    await sleep(300);
    const t0 = Date.now();
    process.kill(second, 'SIGTERM');
    const back = await apiBackAfter(s, t0);
    await sleep(300);
    running = false;
    await Promise.all(loops);
    const ok = outcomes.filter((o) => o.r.status === 201);
    const refused = outcomes.filter((o) => o.r.status === 503);
    const other = outcomes.filter((o) => o.r.status !== 201 && o.r.status !== 503);
    assert.deepEqual(other.map((o) => `${o.r.status} ${o.r.text}`), [], 'only whole answers or 503');
    for (const o of ok) assert.equal(o.r.json?.message?.text, o.text, 'the whole answer');
    for (const o of refused) assert.equal(o.r.json?.error?.code, 'overloaded', o.r.text);
    await delivered(ok.map((o) => o.text));
    // A 502 (reset or cut-short answer) is shown as 503 too: nginx's log tells them apart.
    // Allowed: refused connects (socket shut down, or not yet bound), and a request nginx sent
    // on a kept connection just as the stopping worker ended it (reset, broken pipe: the worker
    // never read it; nginx reuses kept connections, and no FastCGI message says "do not"; when
    // the worker's close comes before the request arrives, nginx reads an end of file instead:
    // "prematurely closed"). That such a request was not carried out is checked by its event:
    // no refused post was posted.
    const upstream = readFileSync(path.join(s.runDir, 'logs/nginx-error.log'), 'utf8').split('\n')
      .filter((l) => l.includes('fcgi.sock') && !/connect\(\) to unix:\S+ failed \((111|2): /.test(l) &&
        !/(recv|writev)\(\) failed \((104|32): [^)]*\) while (reading response header from|sending request to) upstream/.test(l) &&
        !/upstream prematurely closed connection while reading response header from upstream/.test(l));
    assert.deepEqual(upstream, [], 'nginx saw no upstream failure but refused connects and ended kept connections');
    await sleep(500);
    const refusedTexts = new Set(refused.map((o) => o.text));
    const carriedOut = ws.raw.map((m) => JSON.parse(m)).filter((e) => e.type === 'chat.message' && refusedTexts.has(e.data.message.text));
    assert.deepEqual(carriedOut.map((e) => e.data.message.text), [], 'a refused post was not carried out');
    console.log(`# SIGTERM under load: ${ok.length} answered and delivered, ${refused.length} refused (503) while it restarted; API back after ${back} ms`);
    ws.terminate();
  } finally {
    await s.stop();
  }
});

// Publishes 60 KB messages straight to nchan's publisher socket as fast as it takes them, to
// fill the buffers of clients that stopped reading, for as long as wnc-fcgi (whose publishing
// it stands for) runs; returns a function that stops it and tells how many subscribers nchan
// last reported.
function flood(s, channel) {
  const fcgi = pidOf(s, 'fcgi');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ type: 'flood', data: 'x'.repeat(60000) });
  let running = true, subscribers = -1;
  const loop = (async () => {
    while (running && alive(fcgi)) {
      await new Promise((resolve) => {
        const r = http.request({ socketPath: path.join(s.runDir, 'publish.sock'), agent, method: 'POST',
          path: `/pub/${channel}`, headers: { 'content-type': 'application/json', accept: 'text/json' } }, (res) => {
          let text = '';
          res.on('data', (d) => { text += d; });
          res.on('end', () => {
            const m = /"subscribers": *(\d+)/.exec(text);
            if (m) subscribers = Number(m[1]);
            resolve();
          });
        });
        r.on('error', resolve);
        r.setTimeout(3000, () => r.destroy());
        r.end(body);
      });
    }
  })();
  return async () => { running = false; await loop; agent.destroy(); return subscribers; };
}

test('five loaded stops with clients that stopped reading: no force-reaping, no worker crash', {
  skip: process.getuid?.() !== 0 && 'cutting off stalled clients (ss -K) needs CAP_NET_ADMIN',
}, async () => {
  for (let round = 0; round < 5; round++) {
    const s = await startStack({ env: { WNC_NGINX_WORKERS: '2' } });
    let subs = [];
    try {
      const req = api(s.url);
      const { roomId, host, guests } = await makeRoom(req, 'Alice', Array.from({ length: 9 }, (_, i) => `G${i}`));
      const members = [host, ...guests];
      for (let i = 0; i < 30; i++) {
        const q = await subscribeWs(s.port, roomId, members[i % members.length].token);
        if (i % 2 === 0) q.ws._socket.pause(); // stops reading; nginx's writes back up
        subs.push(q);
      }
      const stopFlood = flood(s, `${roomId}-1`);
      let seen = -1;
      let chatting = true;
      const chat = members.map(async (m) => {
        while (chatting) await req('POST', `/api/rooms/${roomId}/chat`, { text: 'busy '.repeat(100) }, m.token).catch(() => {});
      });
      await sleep(2000);
      // The flood and the chat go on through the stop, as a busy stack's would.
      const t0 = Date.now();
      const pid = stackPid(s);
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !alive(pid), 40000, 'the stack stops');
      const ms = Date.now() - t0;
      chatting = false;
      seen = await stopFlood();
      await Promise.all(chat);
      assert.equal(seen, 30, 'the flood reached the room\'s subscribers');
      const errors = readFileSync(path.join(s.runDir, 'logs/nginx-error.log'), 'utf8');
      const bad = errors.split('\n').filter((l) => /signal 11|exited on signal|force-reaping|Assertion/.test(l));
      const cut = /stack: cut off (\d+) of (\d+) client\(s\)/.exec(s.output());
      console.log(`# loaded stop ${round + 1}/5: ${ms} ms, ${cut ? `cut off ${cut[1]} of ${cut[2]} stalled clients` : 'no stalled client'}, ${bad.length} crash line(s)`);
      assert.deepEqual(bad.slice(0, 5), [], 'nginx error log after the stop');
      assert.ok(cut && Number(cut[1]) > 0 && cut[1] === cut[2], `the stalled clients were cut off: ${s.output()}`);
      assert.ok(ms < 30000, `stop took ${ms} ms`);
    } finally {
      for (const q of subs) q.terminate();
      subs = [];
      await s.stop();
    }
  }
});
