// The stack itself (issue 2): health, time, the error shape for unknown routes and methods,
// nginx's own errors as JSON, static pages with their security headers, Redis going away and
// coming back, two stacks side by side, and a clean stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, freePort } from '../lib/stack.mjs';
import { api, sleep, subscribeWs, waitFor } from '../lib/client.mjs';

let stack, req;
before(async () => { stack = await startStack(); req = api(stack.url); });
after(async () => { await stack?.stop(); });

function assertErrorShape(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(Object.keys(res.json), ['error']);
  assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'field', 'message', 'requestId']);
  assert.match(res.json.error.requestId, /^[0-9a-f]{32}$/);
  assert.equal(res.json.error.requestId, res.headers.get('x-request-id'), 'the id the logs carry');
  assert.equal(res.json.error.code, code);
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(res.json.error.message.length > 0);
}

test('GET /health answers 200 ok', async () => {
  const res = await req('GET', '/health');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { status: 'ok' });
  assert.equal(res.headers.get('x-ratelimit-limit'), null, '/health is not rate limited');
});

test('GET /api/time answers the server clock in ms', async () => {
  const before = Date.now();
  const res = await req('GET', '/api/time');
  const afterT = Date.now();
  assert.equal(res.status, 200);
  assert.equal(typeof res.json.now, 'number');
  assert.ok(Number.isInteger(res.json.now));
  assert.ok(res.json.now >= before - 1000 && res.json.now <= afterT + 1000);
});

test('unknown routes answer 404 and wrong methods 405, in the JSON error shape', async () => {
  assertErrorShape(await req('GET', '/api/nope'), 404, 'not_found');
  assertErrorShape(await req('GET', '/api/rooms/ABC123/nope'), 404, 'not_found');
  assertErrorShape(await req('GET', '/api/'), 404, 'not_found');
  const wrong = await req('DELETE', '/api/time');
  assertErrorShape(wrong, 405, 'method_not_allowed');
  assert.equal(wrong.headers.get('allow'), 'GET');
  const put = await req('PUT', '/api/rooms', { hostName: 'Alice' });
  assertErrorShape(put, 405, 'method_not_allowed');
  assert.equal(put.headers.get('allow'), 'POST');
});

test('nginx answers an oversized body itself, with the same JSON shape', async () => {
  const res = await req('POST', '/api/rooms', JSON.stringify({ hostName: 'x'.repeat(20000) }));
  assertErrorShape(res, 413, 'body_too_large');
});

test('the landing page is served with a Content-Security-Policy', async () => {
  const res = await fetch(`${stack.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/html/);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /object-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  for (const page of ['/create', '/join', '/room/ABC123']) {
    const r = await fetch(stack.url + page);
    assert.equal(r.status, 200, page);
    assert.match(r.headers.get('content-type'), /text\/html/, page);
  }
  assert.equal((await fetch(`${stack.url}/room/AB`)).status, 404);
  assert.equal((await fetch(`${stack.url}/no-such-file.js`)).status, 404);
});

test('internal locations cannot be reached from outside', async () => {
  // Paths that match the internal locations exactly (not the static 404): without `internal;`
  // nchan would answer the first two with a stream and the hooks would reach FastCGI (204).
  const site404 = await (await fetch(`${stack.url}/no-such-page`)).text();
  const paths = [
    ['GET', '/_wnc/sub/ABC123-1', { accept: 'text/event-stream' }],
    ['GET', '/_wnc/poll/ABC123-1', {}],
    ['POST', '/_wnc/hook/sub/ABC123/00000000-0000-4000-8000-000000000000/ABC123-1/127.0.0.1/0123456789abcdef/1', {}],
    ['POST', '/_wnc/hook/unsub/ABC123/00000000-0000-4000-8000-000000000000/ABC123-1/127.0.0.1/0123456789abcdef/1', {}],
    ['GET', '/_wnc/auth/ABC123/ABC123-1/eventsource/127.0.0.1/0123456789abcdef0123456789abcdef/1/00000000-0000-4000-8000-000000000000', { authorization: 'Bearer x' }],
  ];
  for (const [method, p, headers] of paths) {
    const res = await fetch(stack.url + p, { method, headers, signal: AbortSignal.timeout(3000) });
    assert.equal(res.status, 404, p);
    assert.notEqual(await res.text(), site404, `${p} fell through to the static site instead`);
  }
  // The publisher is not on the public server at all.
  assert.equal((await fetch(`${stack.url}/pub/ABC123-1`)).status, 404);
});

function spawnRedis(port, dir) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  return child;
}

test('Redis going away gives 503 JSON errors; coming back recovers without a restart', async () => {
  const redisPort = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wnc-redis-'));
  let redis = spawnRedis(redisPort, dir);
  const s = await startStack({ env: { WNC_REDIS_EXTERNAL: '1', WNC_GRACE_MS: '1000' }, redisPort });
  try {
    const r = api(s.url);
    await waitFor(async () => (await r('GET', '/health')).status === 200);
    const fcgiPid = readFileSync(path.join(s.runDir, 'fcgi.pid'), 'utf8').trim();
    const created = await r('POST', '/api/rooms', { hostName: 'Alice' });
    assert.equal(created.status, 201);

    redis.kill('SIGKILL');
    await new Promise((res) => redis.on('exit', res));
    const t0 = Date.now();
    const down = await r('GET', '/health');
    assertErrorShape(down, 503, 'redis_unavailable');
    assert.ok(Date.now() - t0 < 3000, 'answers quickly, does not hang');
    assertErrorShape(await r('GET', `/api/rooms/${created.json.roomId}`), 503, 'redis_unavailable');
    assertErrorShape(await r('POST', '/api/rooms', { hostName: 'Bob' }), 503, 'redis_unavailable');

    redis = spawnRedis(redisPort, dir);
    await waitFor(async () => (await r('GET', '/health')).status === 200);
    const again = await r('POST', '/api/rooms', { hostName: 'Carol' });
    assert.equal(again.status, 201, 'scripts are reloaded after the restart');
    assert.equal(readFileSync(path.join(s.runDir, 'fcgi.pid'), 'utf8').trim(), fcgiPid, 'same workers');
    // pushd reconnected too: a member who never connects is removed after the grace.
    const pushdPid = Number(readFileSync(path.join(s.runDir, 'pushd.pid'), 'utf8').trim());
    process.kill(pushdPid, 0);
    const joined = await r('POST', `/api/rooms/${again.json.roomId}/join`, { userName: 'Ghost' });
    assert.equal(joined.status, 201);
    const ws = await subscribeWs(s.port, again.json.roomId, again.json.token);
    const left = await ws.next('user.left', 4000);
    assert.deepEqual(left.data, { userId: joined.json.userId, reason: 'timeout' });
    ws.terminate();
  } finally {
    await s.stop();
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two stacks run side by side and stopping one leaves no process behind', async () => {
  const second = await startStack();
  const pids = ['redis.pid', 'fcgi.pid', 'pushd.pid', 'nginx.pid'].map(
    (f) => Number(readFileSync(path.join(second.runDir, f), 'utf8').trim()));
  assert.notEqual(second.port, stack.port);
  assert.equal((await api(second.url)('GET', '/health')).status, 200);
  assert.equal((await req('GET', '/health')).status, 200);
  const room = await api(second.url)('POST', '/api/rooms', { hostName: 'Alice' });
  assert.equal((await req('GET', `/api/rooms/${room.json.roomId}`)).status, 404, 'separate data');
  await second.stop();
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
  }
  assert.equal((await req('GET', '/health')).status, 200, 'the first stack is unaffected');
});

test('Ctrl-C (SIGINT to the process group) stops every process of the stack', async () => {
  const port = await freePort();
  const redisPort = await freePort();
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'wnc-sigint-'));
  const child = spawn(path.join(process.cwd(), 'scripts/stack.sh'), [], {
    env: { ...process.env, PORT: String(port), REDIS_PORT: String(redisPort), WNC_RUN_DIR: runDir,
      WNC_REDIS_APPENDONLY: 'no' },
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(async () => out.includes('is running at'), 15000);
    assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
    const pids = ['redis.pid', 'fcgi.pid', 'pushd.pid', 'nginx.pid'].map(
      (f) => Number(readFileSync(path.join(runDir, f), 'utf8').trim()));
    process.kill(-child.pid, 'SIGINT');
    assert.equal(await exited, 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
  } finally {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    rmSync(runDir, { recursive: true, force: true });
  }
});
