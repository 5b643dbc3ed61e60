// The Prometheus endpoint (issue 15, docs/metrics.md) against a private stack with
// WNC_METRICS_LISTEN on a loopback port: the text parses strictly as exposition format 0.0.4,
// counters move by exactly what the test did (requests by route pattern and status, a WebSocket
// subscription, events by type), histograms are consistent, Redis, pushd and nchan figures are
// there, the public nginx server does not serve it, hostile clients of the listener are refused
// without harming it, a unix socket works too and is removed at the stop, and the docs
// (metrics.md, prometheus/scrape.yml, prometheus/alerts.yml) match what is exported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startStack, freePort, ROOT } from '../lib/stack.mjs';
import { api, subscribeWs, sleep } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';

let stack, req, metricsPort;
before(async () => {
  metricsPort = await freePort();
  stack = await startStack({ env: { WNC_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, WNC_SYNC_INTERVAL_MS: '300' } });
  req = api(stack.url);
});
after(async () => { await stack?.stop(); });

// Sends bytes on a fresh connection (TCP to the metrics port, or a unix socket) and resolves
// { text, status, headers, body, error } once the server closed it (or timeoutMs passed).
function raw(bytes, { port = metricsPort, socketPath, timeoutMs = 8000, end = false } = {}) {
  return new Promise((resolve) => {
    const sock = socketPath ? net.connect(socketPath) : net.connect(port, '127.0.0.1');
    const chunks = [];
    let error = null;
    const started = Date.now();
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { error = e; });
    sock.setTimeout(timeoutMs, () => { error = new Error('timeout'); sock.destroy(); });
    sock.on('connect', () => { if (end) sock.end(bytes); else sock.write(bytes); });
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text;
      const [statusLine, ...headerLines] = head.split('\r\n');
      const m = /^HTTP\/1\.0 (\d{3}) /.exec(statusLine || '');
      const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ text, status: m ? Number(m[1]) : 0, headers, body: split >= 0 ? text.slice(split + 4) : '', error, ms: Date.now() - started });
    });
  });
}

// Parses the text exposition strictly: HELP, then TYPE, then the family's samples; a family once;
// names and labels as the format allows; values numbers. Returns Map(family -> {type, help, samples}).
function parseExposition(text) {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const families = new Map();
  let cur = null;
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      assert.ok(!families.has(m[1]), `family ${m[1]} twice`);
      cur = { name: m[1], help: m[2], type: null, samples: [] };
      families.set(m[1], cur);
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line))) {
      assert.ok(cur && cur.name === m[1] && cur.type === null && cur.samples.length === 0, line);
      cur.type = m[2];
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed line: ${JSON.stringify(line)}`);
    assert.ok(cur && cur.type, `sample before its TYPE: ${line}`);
    const suffix = m[1].slice(cur.name.length);
    assert.ok(m[1].startsWith(cur.name) && (suffix === '' || (cur.type === 'histogram' && ['_bucket', '_sum', '_count'].includes(suffix))),
      `${m[1]} outside its family ${cur.name}`);
    const labels = {};
    if (m[2] !== undefined) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      while (pos < m[2].length) {
        re.lastIndex = pos;
        const l = re.exec(m[2]);
        assert.ok(l, `malformed labels: ${m[2]}`);
        assert.ok(!(l[1] in labels), `label ${l[1]} twice`);
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
      }
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `value ${m[3]}`);
    cur.samples.push({ name: m[1], labels, value });
  }
  for (const f of families.values()) assert.ok(f.type, `${f.name} has no TYPE`);
  return families;
}

async function scrape(opts) {
  const r = await raw('GET /metrics HTTP/1.0\r\n\r\n', opts);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body, 'latin1'));
  return parseExposition(r.body);
}

// The value of the one sample of name whose labels include labels; 0 when there is none.
function val(families, name, labels = {}) {
  const found = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) found.push(s);
    }
  }
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found.length ? found[0].value : 0;
}

const delta = (a, b, name, labels) => val(b, name, labels) - val(a, name, labels);
const REQ = 'wnc_http_requests_total';

test('requests are counted by route pattern and status, exactly', async () => {
  const before = await scrape();
  const created = await req('POST', '/api/rooms', { hostName: 'Metric' });
  assert.equal(created.status, 201);
  const bad = await req('POST', '/api/rooms', { hostName: '' });
  assert.equal(bad.status, 400);
  const missing = await req('GET', '/api/nope/ABCDEF');
  assert.equal(missing.status, 404);
  const wrong = await req('DELETE', '/api/rooms');
  assert.equal(wrong.status, 405);
  const room404 = await req('GET', `/api/rooms/${created.json.roomId === 'ZZZZZ9' ? 'ZZZZZ8' : 'ZZZZZ9'}`);
  assert.equal(room404.status, 404);
  const after = await scrape();

  assert.equal(delta(before, after, REQ, { method: 'POST', route: '/api/rooms', status: '201' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'POST', route: '/api/rooms', status: '400' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'any', route: 'unmatched', status: '404' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'any', route: 'unmatched', status: '405' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'GET', route: '/api/rooms/{room}', status: '404' }), 1);
  // Nothing else moved: five requests, five counts.
  const total = (fams) => fams.get(REQ).samples.reduce((n, s) => n + s.value, 0);
  assert.equal(total(after) - total(before), 5);
  const durations = (fams, route, method) => val(fams, 'wnc_http_request_duration_seconds_count', { route, method });
  assert.equal(durations(after, '/api/rooms', 'POST') - durations(before, '/api/rooms', 'POST'), 2);
  assert.equal(durations(after, 'unmatched', 'any') - durations(before, 'unmatched', 'any'), 2);
  // Routes are patterns, never raw paths.
  for (const s of after.get(REQ).samples) {
    assert.ok(!/nope|ZZZZZ|[A-Z0-9]{6}/.test(s.labels.route), s.labels.route);
  }
  assert.equal(val(after, 'wnc_worker_threads'), 4);
  assert.equal(val(after, 'wnc_redis_up'), 1);
  assert.ok(val(after, 'wnc_rooms_active') >= 1);
  assert.ok(Math.abs(val(after, 'wnc_process_start_time_seconds') - Date.now() / 1000) < 600);
});

test('a WebSocket subscription and the events it sees are counted exactly', async () => {
  const before = await scrape();
  const { roomId, host } = await makeRoom(req, 'Host');
  const ws = await subscribeWs(stack.port, roomId, host.token);
  await ws.next((e) => e.type === 'user.presence' && e.data.online === true);
  // Past the room's announcement window (100 ms): the worker announces the join itself, not
  // pushd's flush.
  await sleep(150);
  const joined = await req('POST', `/api/rooms/${roomId}/join`, { userName: 'Guest' });
  assert.equal(joined.status, 201);
  await ws.next('user.joined');
  const chat = await req('POST', `/api/rooms/${roomId}/chat`, { text: 'hello' }, host.token);
  assert.equal(chat.status, 201);
  await ws.next('chat.message');
  await sleep(200); // the publisher's answers are counted after nchan's reply
  const after = await scrape();

  assert.equal(delta(before, after, 'wnc_subscriptions_total', { transport: 'websocket' }), 1);
  assert.equal(delta(before, after, 'wnc_subscriptions_total', { transport: 'eventsource' }), 0);
  assert.equal(delta(before, after, 'wnc_subscriptions_total', { transport: 'longpoll' }), 0);
  assert.equal(delta(before, after, REQ, { method: 'POST', route: '/api/rooms/{room}/events/ticket', status: '201' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'GET', route: '/api/rooms/{room}/events', status: '200' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'POST', route: '/_wnc/hook/sub', status: '204' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'POST', route: '/api/rooms/{room}/join', status: '201' }), 1);
  assert.equal(delta(before, after, REQ, { method: 'POST', route: '/api/rooms/{room}/chat', status: '201' }), 1);
  const ev = (type) => delta(before, after, 'wnc_events_published_total', { source: 'worker', type });
  assert.equal(ev('user.joined'), 1);
  assert.equal(ev('chat.message'), 1);
  assert.equal(ev('user.presence'), 1);
  assert.equal(ev('other'), 0);
  // Every event the worker published is one publisher request nchan accepted, and vice versa.
  const workerEvents = (fams) => fams.get('wnc_events_published_total').samples
    .filter((s) => s.labels.source === 'worker').reduce((n, s) => n + s.value, 0);
  assert.equal(workerEvents(after) - workerEvents(before),
    delta(before, after, 'wnc_publish_requests_total', { kind: 'event', outcome: 'sent' }));
  for (const outcome of ['rejected', 'dropped', 'lost']) {
    assert.equal(val(after, 'wnc_publish_requests_total', { kind: 'event', outcome }), 0, outcome);
  }
  assert.equal(val(after, 'wnc_publish_queue_depth'), 0);
  // The host came online (the guest never subscribed); going offline takes it off again.
  assert.equal(delta(before, after, 'wnc_members_online'), 1);
  ws.terminate();
  let online = 1;
  for (let i = 0; i < 50 && online !== 0; i++) {
    await sleep(100);
    online = delta(before, await scrape(), 'wnc_members_online');
  }
  assert.equal(online, 0, 'the host counted offline once its stream closed');
  // nchan's own figures, converted.
  assert.equal(val(after, 'wnc_nchan_up'), 1);
  assert.ok(val(after, 'wnc_nchan_subscribers') >= 1);
  assert.ok(val(after, 'wnc_nchan_channels') >= 1);
  assert.ok(delta(before, after, 'wnc_nchan_messages_published_total') >= 3);
  const used = val(after, 'wnc_nchan_shared_memory_used_bytes');
  const limit = val(after, 'wnc_nchan_shared_memory_limit_bytes');
  assert.ok(used > 0 && used % 1024 === 0 && used < limit, `${used} of ${limit}`);
  assert.equal(limit, 64 * 1024 * 1024); // nchan_max_reserved_memory 64M in the site
  assert.equal(after.get('wnc_nchan_messages_published_total').type, 'counter');
  assert.equal(val(after, 'wnc_nchan_info', { version: after.get('wnc_nchan_info').samples[0].labels.version }), 1);
  // A presence timer is pending for nobody yet; its lag is a small non-negative number.
  for (const kind of ['presence', 'typing', 'sync', 'linger', 'wait', 'unmute', 'pflush', 'verify']) {
    const lag = val(after, 'wnc_timer_lag_seconds', { kind });
    assert.ok(lag >= 0 && lag < 5, `${kind} lag ${lag}`);
    assert.ok(val(after, 'wnc_timers_pending', { kind }) >= 0);
  }
});

test('histograms are cumulative and consistent with the request counts', async () => {
  await req('GET', '/api/time');
  await sleep(100);
  const fams = await scrape();
  let checked = 0;
  for (const f of fams.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) series.set(key, { labels: rest, buckets: [], sum: null, count: null });
      const h = series.get(key);
      if (s.name.endsWith('_bucket')) h.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      else if (s.name.endsWith('_sum')) h.sum = s.value;
      else h.count = s.value;
    }
    for (const [key, h] of series) {
      assert.equal(h.buckets.length, 17, `${f.name} ${key}: 16 bounds and +Inf`);
      assert.equal(h.buckets[0][0], 0.0001);
      assert.equal(h.buckets[15][0], 10);
      for (let i = 1; i < h.buckets.length; i++) {
        assert.ok(h.buckets[i][0] > h.buckets[i - 1][0], `${f.name} ${key}: bounds ascend`);
        assert.ok(h.buckets[i][1] >= h.buckets[i - 1][1], `${f.name} ${key}: cumulative`);
      }
      assert.equal(h.buckets[16][0], Infinity);
      assert.equal(h.buckets[16][1], h.count, `${f.name} ${key}: +Inf is _count`);
      assert.ok(h.sum >= 0 && (h.count > 0 || h.sum === 0), `${f.name} ${key}: _sum ${h.sum}`);
      assert.ok(h.sum <= h.count * 10 || h.buckets[15][1] < h.count, `${f.name} ${key}: _sum within the buckets`);
      if (f.name === 'wnc_http_request_duration_seconds') {
        // Each request is one count and one observation: the same figure, by route.
        const counted = fams.get(REQ).samples.filter((s) => s.labels.route === h.labels.route && s.labels.method === h.labels.method)
          .reduce((n, s) => n + s.value, 0);
        assert.equal(h.count, counted, `${key}: requests and durations`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 5, `${checked} histogram series`);
  assert.ok(val(fams, 'wnc_redis_call_duration_seconds_count') > 0);
  assert.equal(val(fams, 'wnc_http_request_duration_seconds_count', { method: 'GET', route: '/api/time' }) >= 1, true);
});

test('pushd reports the timers it fired, the events it published and its loop', async () => {
  const { roomId, host } = await makeRoom(req, 'Player');
  const before = await scrape();
  assert.equal((await req('PUT', `/api/rooms/${roomId}/video`, { url: 'https://example.com/a.mp4' }, host.token)).status, 200);
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/play`, { position: 0 }, host.token)).status, 200);
  // Sync beacons every 300 ms while the room plays; pushd reports every 2 s.
  let after;
  const deadline = Date.now() + 10000;
  do {
    await sleep(500);
    after = await scrape();
  } while (Date.now() < deadline &&
    (delta(before, after, 'wnc_pushd_timers_fired_total', { kind: 'sync' }) < 2 ||
     delta(before, after, 'wnc_events_published_total', { source: 'pushd', type: 'video.sync' }) < 2));
  assert.ok(delta(before, after, 'wnc_pushd_timers_fired_total', { kind: 'sync' }) >= 2);
  assert.ok(delta(before, after, 'wnc_events_published_total', { source: 'pushd', type: 'video.sync' }) >= 2);
  assert.equal(val(after, 'wnc_events_published_total', { source: 'pushd', type: 'other' }), 0);
  assert.equal(after.get('wnc_pushd_timers_fired_total').type, 'counter');
  // A playing room has its next beacon pending, but for the moment between pushd's claim of
  // it and the beacon re-arming itself: a scrape that falls there looks again.
  let pending = val(after, 'wnc_timers_pending', { kind: 'sync' });
  for (let i = 0; i < 20 && pending < 1; i++) {
    await sleep(100);
    pending = val(await scrape(), 'wnc_timers_pending', { kind: 'sync' });
  }
  assert.ok(pending >= 1, `${pending} sync timer(s) pending`);
  assert.ok(val(after, 'wnc_timer_lag_seconds', { kind: 'sync' }) < 2);
  const reported = val(after, 'wnc_pushd_last_report_timestamp_seconds');
  assert.ok(Math.abs(Date.now() / 1000 - reported) < 10, `last report ${reported}`);
  const lag = val(after, 'wnc_pushd_loop_lag_seconds');
  const tick = val(after, 'wnc_pushd_tick_seconds');
  assert.ok(lag >= 0 && lag < 2 && tick >= 0 && tick < 2, `lag ${lag}, tick ${tick}`);
  await req('POST', `/api/rooms/${roomId}/video/pause`, { position: 1 }, host.token);
});

test('the public nginx server does not serve the metrics', async () => {
  for (const p of ['/metrics', '/metrics/', '/api/metrics', '/status', '/_wnc/metrics']) {
    const res = await fetch(stack.url + p);
    const body = await res.text();
    assert.equal(res.status, 404, p);
    assert.ok(!body.includes('wnc_'), p);
  }
  const viaHost = await fetch(`${stack.url}/metrics`, { headers: { host: `127.0.0.1:${metricsPort}` } });
  assert.equal(viaHost.status, 404);
});

test('hostile clients of the listener are refused and it keeps serving', async () => {
  // Refusals, each answered and closed.
  const cases = [
    ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage', 400],
    ['GET /metrics HTTP/1.0\r\nbad header line\r\n\r\n', 400],
    ['GET /metrics HTTP/2.0\r\n\r\n', 400],
    ['get /metrics HTTP/1.0\r\n\r\n', 400],
    ['POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello', 405],
    ['HEAD /metrics HTTP/1.0\r\n\r\n', 405],
    ['GET /other HTTP/1.0\r\n\r\n', 404],
    ['GET /metrics/../status HTTP/1.1\r\nHost: x\r\n\r\n', 404],
  ];
  for (const [bytes, status] of cases) {
    const r = await raw(bytes);
    assert.equal(r.status, status, `${JSON.stringify(bytes)}: ${r.text.slice(0, 100)}`);
    assert.ok(!r.body.includes('wnc_'), JSON.stringify(bytes));
    if (status === 405) assert.equal(r.headers.allow, 'GET');
  }
  // A huge header: 431 at 4 KiB (or a reset while the client still sends), never a scrape.
  const huge = await raw(`GET /metrics HTTP/1.0\r\nX-Big: ${'a'.repeat(200000)}\r\n\r\n`);
  assert.ok(huge.status === 431 || (huge.status === 0 && huge.error && /ECONNRESET|EPIPE/.test(huge.error.code)),
    `huge header: ${huge.status} ${huge.error}`);
  assert.ok(!huge.text.includes('wnc_'));
  // A client that says nothing, or too little, is closed at its deadline (about 2 s) unanswered.
  const silent = await raw('', { timeoutMs: 6000 });
  assert.equal(silent.text, '');
  assert.ok(silent.error === null && silent.ms >= 1500 && silent.ms < 5000, `silent: ${silent.ms} ms ${silent.error}`);
  const partial = await raw('GET /metr', { timeoutMs: 6000 });
  assert.equal(partial.text, '');
  assert.ok(partial.ms < 5000);
  // A request cut short by the client: closed, nothing answered.
  const halfClosed = await raw('GET /metrics HTTP/1.0\r\n', { end: true });
  assert.equal(halfClosed.text, '');

  // Slots taken by idle connections: a scrape still gets through once their deadlines pass.
  const idle = [];
  for (let i = 0; i < 20; i++) idle.push(net.connect(metricsPort, '127.0.0.1').on('error', () => {}));
  await sleep(100);
  const t0 = Date.now();
  const during = await scrape({ timeoutMs: 10000 });
  assert.ok(val(during, 'wnc_redis_up') === 1);
  assert.ok(Date.now() - t0 < 7000, `a scrape behind idle connections took ${Date.now() - t0} ms`);
  for (const s of idle) s.destroy();

  // A burst of garbage on many connections at once.
  await Promise.all(Array.from({ length: 40 }, (_, i) => raw(i % 2 ? 'x'.repeat(5000) : '\0\r\n\r\n')));

  // The listener and the workers are fine.
  const fams = await scrape();
  assert.equal(val(fams, 'wnc_nchan_up'), 1);
  assert.equal((await req('GET', '/health')).status, 200);
  // HTTP/1.1 and a query string are fine too; still one answer per connection.
  const r11 = await raw('GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n');
  assert.equal(r11.status, 200);
  assert.equal(r11.text.match(/HTTP\/1\.0 /g).length, 1);
});

test('WNC_METRICS_LISTEN on a unix socket; removed at the stop; refused when not loopback', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wnc-metrics-'));
  const sock = path.join(dir, 'metrics.sock');
  const other = await startStack({ env: { WNC_METRICS_LISTEN: sock } });
  try {
    const st = statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    const fams = await scrape({ socketPath: sock });
    assert.equal(val(fams, 'wnc_redis_up'), 1);
    assert.equal(val(fams, 'wnc_nchan_up'), 1);
    assert.equal((await raw('GET /x HTTP/1.0\r\n\r\n', { socketPath: sock })).status, 404);
  } finally {
    await other.stop();
  }
  assert.ok(!existsSync(sock), 'the socket is removed when wnc-fcgi stops');
  rmSync(dir, { recursive: true, force: true });

  const check = (value) => new Promise((resolve) => {
    execFile(path.join(ROOT, 'build/wnc-fcgi'), ['--check-config'],
      { env: { PATH: process.env.PATH, WNC_SQL_DIR: path.join(ROOT, 'sql'), WNC_METRICS_LISTEN: value } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  for (const bad of ['0.0.0.0:9464', '10.0.0.1:9464', '[::]:9464', 'localhost:9464', '127.0.0.1:0', 'metrics.sock']) {
    const r = await check(bad);
    assert.equal(r.code, 1, bad);
    assert.ok(r.stderr.includes(`WNC_METRICS_LISTEN="${bad}"`), r.stderr);
  }
  for (const good of ['127.0.0.1:9464', '[::1]:9464', '/run/wnc/metrics.sock', '']) {
    const r = await check(good);
    assert.equal(r.code, 0, `${good}: ${r.stderr}`);
    assert.ok(r.stdout.includes(`WNC_METRICS_LISTEN=${good}\n`), r.stdout);
  }
});

test('docs: every family is documented; the scrape config and alert rules parse and use real metrics', async () => {
  const fams = await scrape();
  const doc = readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
  for (const [name, f] of fams) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    assert.ok(row, `${name} is not in docs/metrics.md's tables`);
    assert.ok(row.includes(`| ${f.type} |`), `${name}: docs/metrics.md says another type than ${f.type}`);
  }
  const documented = [...doc.matchAll(/^\| `(wnc_[a-z0-9_]+)` \|/gm)].map((m) => m[1]);
  for (const name of documented) assert.ok(fams.has(name), `${name} is documented but not exported`);

  const scrapeCfg = YAML.parse(readFileSync(path.join(ROOT, 'docs/prometheus/scrape.yml'), 'utf8'));
  const job = scrapeCfg.scrape_configs.find((j) => j.job_name === 'wnc');
  assert.equal(job.metrics_path, '/metrics');
  assert.deepEqual(job.static_configs[0].targets, ['127.0.0.1:9464']);
  assert.ok(scrapeCfg.rule_files.includes('alerts.yml'));

  const rules = YAML.parse(readFileSync(path.join(ROOT, 'docs/prometheus/alerts.yml'), 'utf8'));
  const alerts = rules.groups.flatMap((g) => g.rules);
  const names = alerts.map((r) => r.alert);
  for (const want of ['WncWorkerDown', 'WncHigh5xxRate', 'WncNchanSharedMemoryNearFull', 'WncTimerLag']) {
    assert.ok(names.includes(want), want);
  }
  for (const r of alerts) {
    assert.equal(typeof r.expr, 'string', r.alert);
    assert.match(r.for, /^\d+[smh]$/, r.alert);
    assert.ok(['critical', 'warning'].includes(r.labels.severity), r.alert);
    assert.ok(r.annotations.summary && r.annotations.description, r.alert);
    // Balanced brackets, and every wnc_ metric it names is exported.
    for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) {
      assert.equal(r.expr.split(open).length, r.expr.split(close).length, `${r.alert}: ${open}${close}`);
    }
    for (const [metric] of r.expr.matchAll(/wnc_[a-z0-9_]+/g)) {
      assert.ok(fams.has(metric.replace(/_(bucket|sum|count)$/, '')), `${r.alert}: ${metric} is not exported`);
    }
  }
  const expr = (n) => alerts.find((r) => r.alert === n).expr;
  assert.match(expr('WncWorkerDown'), /up\{job="wnc"\} == 0/);
  assert.match(expr('WncHigh5xxRate'), /status=~"5\.\."/);
  assert.match(expr('WncNchanSharedMemoryNearFull'), /wnc_nchan_shared_memory_used_bytes \/ wnc_nchan_shared_memory_limit_bytes/);
  assert.match(expr('WncTimerLag'), /wnc_timer_lag_seconds/);
});
