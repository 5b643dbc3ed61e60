// The client address behind a TLS-terminating proxy (core/addr.h): with WNC_TRUSTED_PROXIES
// naming the proxy, X-Forwarded-For decides whose rate-limit window a request counts against
// (IPv6 by /64); without it, the header is ignored. The tests talk to nginx from 127.0.0.1, so
// they play the proxy themselves.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack } from '../lib/stack.mjs';
import { api } from '../lib/client.mjs';

const LIMIT = 5;

// GET /api/time as the given X-Forwarded-For (none when undefined): status and remaining.
async function hit(req, xff) {
  const res = await req('GET', '/api/time', null, null, xff === undefined ? {} : { 'x-forwarded-for': xff });
  return { status: res.status, remaining: res.headers.get('x-ratelimit-remaining') };
}

// The same with the header sent as several lines (fetch would join them into one), as a proxy
// that adds its own X-Forwarded-For line instead of appending to the client's does.
function hitLines(port, lines) {
  return new Promise((resolve, reject) => {
    const r = http.get({ host: '127.0.0.1', port, path: '/api/time', headers: { 'x-forwarded-for': lines } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, remaining: res.headers['x-ratelimit-remaining'] }));
    });
    r.on('error', reject);
  });
}

describe('behind a trusted proxy (WNC_TRUSTED_PROXIES=127.0.0.1)', () => {
  let stack, req;
  before(async () => {
    stack = await startStack({ env: { WNC_TRUSTED_PROXIES: '127.0.0.1', WNC_RATE_LIMIT: String(LIMIT) } });
    req = api(stack.url);
  });
  after(async () => { await stack?.stop(); });

  test('each forwarded client gets its own window; one is limited while the other passes', async () => {
    const seen = [];
    for (let i = 0; i < LIMIT; i++) seen.push(await hit(req, '203.0.113.7'));
    assert.deepEqual(seen.map((r) => r.status), Array(LIMIT).fill(200));
    assert.deepEqual(seen.map((r) => r.remaining), ['4', '3', '2', '1', '0']);
    const other = await hit(req, '203.0.113.8');
    assert.deepEqual(other, { status: 200, remaining: '4' }, '203.0.113.8 has a window of its own');
    assert.equal((await hit(req, '203.0.113.7')).status, 429, '203.0.113.7 is over its limit');
    assert.deepEqual(await hit(req, '203.0.113.8'), { status: 200, remaining: '3' });
    assert.deepEqual(await hit(req), { status: 200, remaining: '4' }, 'the proxy itself is a third client');
  });

  test('the proxy appends: entries a client put to the left are ignored', async () => {
    assert.equal((await hit(req, '198.51.100.20')).remaining, '4');
    assert.equal((await hit(req, '203.0.113.7, 198.51.100.20')).remaining, '3');
    assert.equal((await hit(req, '6.6.6.6,198.51.100.20')).remaining, '2');
    // A client that claims to be the proxy is still itself.
    assert.equal((await hit(req, '127.0.0.1, 198.51.100.20')).remaining, '1');
  });

  test('several X-Forwarded-For lines are read as one list, the last line rightmost', async () => {
    // nginx passes every request header to FastCGI by default, one parameter per line, and
    // the worker reads the first: the client's own line. wnc-fastcgi.conf's explicit parameter
    // joins them.
    assert.equal((await hit(req, '198.51.100.60')).remaining, '4');
    assert.equal((await hitLines(stack.port, ['6.6.6.6', '198.51.100.60'])).remaining, '3');
    assert.equal((await hitLines(stack.port, ['198.51.100.61', '198.51.100.60'])).remaining, '2');
  });

  test('two IPv6 addresses in one /64 share a window; the next /64 does not', async () => {
    assert.equal((await hit(req, '2001:db8:1:2::a')).remaining, '4');
    assert.equal((await hit(req, '2001:db8:1:2:ffff:1234:5678:9abc')).remaining, '3');
    assert.equal((await hit(req, '2001:DB8:1:2::b')).remaining, '2');
    assert.equal((await hit(req, '2001:db8:1:3::a')).remaining, '4');
  });

  test('IPv4-mapped IPv6 is the IPv4 address', async () => {
    assert.equal((await hit(req, '198.51.100.30')).remaining, '4');
    assert.equal((await hit(req, '::ffff:198.51.100.30')).remaining, '3');
  });

  test('a malformed entry falls back to the address on its right, here the proxy', async () => {
    // The proxy's own window, whatever earlier tests left of it; each malformed header then
    // counts against it, one more request each.
    const start = Number((await hit(req)).remaining);
    const malformed = ['junk', '[2001:db8::1]:443', 'fe80::1%eth0', '198.51.100.40, ', 'x'.repeat(6000)];
    for (const [k, xff] of malformed.entries()) {
      const left = start - 1 - k;
      const r = await hit(req, xff);
      assert.deepEqual(r, { status: left >= 0 ? 200 : 429, remaining: String(Math.max(left, 0)) },
        `${xff.slice(0, 40)} counts against the proxy`);
    }
    assert.deepEqual(await hit(req, '198.51.100.40'), { status: 200, remaining: '4' });
  });
});

describe('without a trusted proxy (the default)', () => {
  let stack, req;
  before(async () => {
    stack = await startStack({ env: { WNC_RATE_LIMIT: String(LIMIT) } });
    req = api(stack.url);
  });
  after(async () => { await stack?.stop(); });

  test('X-Forwarded-For is ignored: every request counts against 127.0.0.1', async () => {
    const seen = [];
    for (const xff of ['203.0.113.7', '203.0.113.8', undefined, '2001:db8:1:2::a', '198.51.100.1, 203.0.113.9'])
      seen.push(await hit(req, xff));
    assert.deepEqual(seen.map((r) => r.remaining), ['4', '3', '2', '1', '0']);
    assert.equal((await hit(req, '203.0.113.99')).status, 429, 'a fresh address in the header does not help');
  });
});
