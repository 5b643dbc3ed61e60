// FastCGI keep-alive (issue 13): nginx keeps its connections to the worker, and a kept
// connection, idle or half sent, takes no worker thread: wnc-fcgi's threads wait on one epoll
// set and take a connection only while they answer a whole request (fcgi/http.c). With
// libfcgi's thread per connection, the connections held open below would have stopped the pool.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startStack } from '../lib/stack.mjs';
import { api } from '../lib/client.mjs';
import { connect, record, requestRecords } from '../lib/fcgi.mjs';

let s, req;
before(async () => { s = await startStack({ env: { WNC_WORKERS: '2' } }); req = api(s.url); });
after(async () => { await s?.stop(); });

const TIME = { REQUEST_METHOD: 'GET', SCRIPT_NAME: '/api/time', QUERY_STRING: '', REMOTE_ADDR: '127.0.0.1' };

// The worker's end of the connections on its FastCGI socket (/proc/net/unix: state 03, shown
// under the name the socket was bound to, fcgi.sock.<pid>, before its rename into place).
function fcgiConnections() {
  const pid = readFileSync(path.join(s.runDir, 'fcgi.pid'), 'utf8').trim();
  const bound = `${path.join(s.runDir, 'fcgi.sock')}.${pid}`;
  return readFileSync('/proc/net/unix', 'utf8').split('\n')
    .filter((l) => l.endsWith(` ${bound}`) && l.trim().split(/\s+/)[5] === '03').length;
}

test('nginx keeps its connections to the worker', async () => {
  for (let i = 0; i < 30; i++) assert.equal((await req('GET', '/api/time')).status, 200);
  const kept = fcgiConnections();
  assert.ok(kept >= 1 && kept <= 4, `${kept} connection(s) after 30 requests one after another`);
});

test('several requests on one kept connection, each answered whole; without KEEP_CONN the worker closes', async () => {
  const c = connect(s);
  for (let i = 1; i <= 3; i++) {
    await c.write(requestRecords(TIME, '', { keep: true, id: i }));
    const a = await c.next();
    assert.equal(a.id, i);
    assert.equal(a.status, 200);
    assert.match(a.body, /"now":\d+/);
  }
  assert.equal(c.closed, false);
  await c.write(requestRecords(TIME, '', { keep: false, id: 4 }));
  assert.equal((await c.next()).status, 200);
  assert.equal(await c.next(), null, 'closed after the request without KEEP_CONN');
});

test('idle and half-sent connections take no thread: with 2 threads and 8 such connections, the API answers', async () => {
  const held = [];
  for (let i = 0; i < 4; i++) held.push(connect(s)); // idle: nothing sent
  for (let i = 0; i < 4; i++) { // stopped in the middle of a request
    const c = connect(s);
    await c.write(requestRecords(TIME, '', { keep: true }).subarray(0, 30));
    held.push(c);
  }
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      req('GET', '/api/time').then((r) => r.status)));
    assert.deepEqual([...new Set(answers)], [200]);
    // A half-sent request is answered once its rest arrives.
    const c = held[4];
    await c.write(requestRecords(TIME, '', { keep: true }).subarray(30));
    assert.equal((await c.next()).status, 200);
  } finally {
    for (const c of held) c.destroy();
  }
});

test('protocol refusals: a second request while one is open, a management record, garbage', async () => {
  const c = connect(s);
  const partial = requestRecords(TIME, '', { keep: true, id: 1 });
  await c.write(partial.subarray(0, 16)); // BEGIN_REQUEST 1 only
  await c.write(record(1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]), 2)); // BEGIN_REQUEST 2
  const refused = await c.next();
  assert.deepEqual([refused.type, refused.id, refused.protocolStatus], [3, 2, 1]); // CANT_MPX_CONN
  await c.write(record(42, Buffer.alloc(0), 0)); // an unknown management record
  assert.equal((await c.next()).type, 11); // UNKNOWN_TYPE
  await c.write(partial.subarray(16)); // request 1 goes on
  const a = await c.next();
  assert.deepEqual([a.id, a.status], [1, 200]);
  c.end();
  const g = connect(s);
  await g.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')); // not FastCGI: closed
  assert.equal(await g.next(), null);
  assert.equal((await req('GET', '/api/time')).status, 200);
});
