// Overload (faults issue): nginx turns floods away per client before they cost a worker, and a
// saturated or absent FastCGI pool answers 503 JSON with Retry-After at once: never 502/504.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { poolDown, startStack } from '../lib/stack.mjs';
import { api, sleep } from '../lib/client.mjs';

const stacks = [];
after(async () => { for (const s of stacks) await s.stop(); });

test('a flood from one client gets nginx\'s 429; /health and other clients are not affected', async () => {
  const s = await startStack({ env: { WNC_NGINX_RATE: '5', WNC_NGINX_BURST: '10', WNC_TRUSTED_PROXIES: '127.0.0.1' } });
  stacks.push(s);
  const req = api(s.url);
  const results = await Promise.all(Array.from({ length: 40 }, () => req('GET', '/api/time')));
  const limited = results.filter((r) => r.status === 429);
  assert.ok(limited.length >= 25, `${limited.length} of 40 limited`);
  assert.ok(results.filter((r) => r.status === 200).length <= 12);
  for (const r of limited) {
    assert.equal(r.json.error.code, 'rate_limited');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src/);
  }
  assert.equal((await req('GET', '/health')).status, 200, '/health has its own zone');
  const other = await req('GET', '/api/time', null, null, { 'x-forwarded-for': '203.0.113.9' });
  assert.equal(other.status, 200, 'another client behind the proxy is not limited');
  // The limiter's rejections leave no request line in the error log.
  const errorLog = readFileSync(path.join(s.runDir, 'logs/nginx-error.log'), 'utf8');
  assert.doesNotMatch(errorLog, /limiting requests/);
});

test('a saturated pool answers 503 with Retry-After at once, never 502/504; accepted requests complete', async () => {
  const s = await startStack({ env: { WNC_WORKERS: '2', WNC_FCGI_QUEUE: '4' } });
  stacks.push(s);
  const req = api(s.url);
  const fcgiPid = Number(readFileSync(path.join(s.runDir, 'fcgi.pid'), 'utf8'));
  process.kill(fcgiPid, 'SIGSTOP');
  let statuses;
  const t0 = Date.now();
  try {
    const pending = Array.from({ length: 60 }, () => req('GET', '/api/time').then((r) => ({ r, ms: Date.now() - t0 })));
    await sleep(1000);
    process.kill(fcgiPid, 'SIGCONT');
    statuses = await Promise.all(pending);
  } finally {
    process.kill(fcgiPid, 'SIGCONT');
  }
  const shed = statuses.filter(({ r }) => r.status === 503);
  const served = statuses.filter(({ r }) => r.status === 200);
  assert.equal(shed.length + served.length, 60, `statuses: ${[...new Set(statuses.map(({ r }) => r.status))]}`);
  assert.ok(shed.length >= 40, `${shed.length} shed`);
  assert.ok(served.length >= 4, `${served.length} served after the pool came back`);
  for (const { r, ms } of shed) {
    assert.equal(r.json.error.code, 'overloaded');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.ok(ms < 900, `a shed request waited ${ms} ms`);
  }
  assert.equal((await req('GET', '/health')).status, 200);
});

test('a pool that is down answers 503 JSON, not 502', async () => {
  const s = await startStack({});
  stacks.push(s);
  const req = api(s.url);
  assert.equal((await req('GET', '/api/time')).status, 200); // nginx now keeps a connection
  // A crashed pool whose supervisor has not started a new one yet: first its socket is still
  // there with nobody listening, then it is gone too.
  for (const noSocket of [false, true]) {
    const back = await poolDown(s, { noSocket });
    try {
      const r = await req('GET', '/api/time');
      assert.equal(r.status, 503, noSocket ? 'no socket' : 'no listener');
      assert.equal(r.json.error.code, 'overloaded');
      assert.equal(r.headers.get('retry-after'), '1');
    } finally {
      await back();
    }
  }
  assert.equal((await req('GET', '/api/time')).status, 200);
});
