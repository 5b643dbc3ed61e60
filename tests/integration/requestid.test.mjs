// Request ids and log formats (issue 15): nginx's $request_id comes back as X-Request-Id on
// every answer, an error body's requestId is the same id (nginx's own errors included), the
// worker's log lines for the request carry it, and nothing a client sends replaces it: neither
// an X-Request-Id or Request-Id header through nginx, nor a malformed REQUEST_ID parameter
// sent to the worker's FastCGI socket directly. With WNC_LOG_FORMAT=json every line the
// daemons write is one JSON object with the documented fields.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startStack } from '../lib/stack.mjs';
import { api, sleep } from '../lib/client.mjs';
import { fcgiRequest } from '../lib/fcgi.mjs';

const ID = /^[0-9a-f]{32}$/;
const CLIENT_ID = 'deadbeef'.repeat(4); // nginx's form exactly: still not taken from a client
let text, json;

before(async () => {
  [text, json] = await Promise.all([
    startStack({ env: { WNC_LOG_LEVEL: 'info' } }),
    startStack({ env: { WNC_LOG_LEVEL: 'info', WNC_LOG_FORMAT: 'json' } }),
  ]);
});
after(async () => { await Promise.all([text?.stop(), json?.stop()]); });

const log = (stack, name = 'fcgi.log') => readFileSync(path.join(stack.runDir, 'logs', name), 'utf8');

// Waits until the log holds a line that matches (written before the answer, but read apart).
async function logLine(stack, match, name = 'fcgi.log') {
  const deadline = Date.now() + 3000;
  for (;;) {
    const line = log(stack, name).split('\n').find(match);
    if (line !== undefined || Date.now() > deadline) return line;
    await sleep(50);
  }
}

// The id of an answer, checked: X-Request-Id in nginx's form, and an error body's requestId
// the same.
function idOf(res) {
  const id = res.headers.get('x-request-id');
  assert.match(id ?? '', ID, `${res.status} ${res.text?.slice(0, 200)}: X-Request-Id`);
  if (res.json?.error) assert.equal(res.json.error.requestId, id, `${res.status} ${res.text}: requestId is X-Request-Id`);
  return id;
}

function fcgiCreate(stack, requestId, name) {
  const body = JSON.stringify({ hostName: name });
  return fcgiRequest(stack, {
    REQUEST_METHOD: 'POST', SCRIPT_NAME: '/api/rooms', QUERY_STRING: '', CONTENT_TYPE: 'application/json',
    CONTENT_LENGTH: String(Buffer.byteLength(body)), REMOTE_ADDR: '127.0.0.1', REQUEST_ID: requestId,
  }, body);
}

test('every answer carries nginx\'s id; an error body\'s requestId is that id, nginx\'s own errors included', async () => {
  const req = api(text.url);
  const ids = [];
  // The worker's errors and successes, a static page.
  const notFound = await req('GET', '/api/nope');
  assert.equal(notFound.status, 404);
  ids.push(idOf(notFound));
  const bad = await req('POST', '/api/rooms', { hostName: 'A' });
  assert.equal(bad.status, 400);
  ids.push(idOf(bad));
  ids.push(idOf(await req('GET', '/health')));
  ids.push(idOf(await req('GET', '/')));
  // nginx's: a body too large (413), a resume id on /events (400).
  const large = await req('POST', '/api/rooms', JSON.stringify({ hostName: 'x'.repeat(17000) }));
  assert.equal(large.status, 413);
  assert.equal(large.json.error.code, 'body_too_large');
  ids.push(idOf(large));
  const resume = await req('GET', '/api/rooms/ABC123/events', null, null, { 'last-event-id': '1' });
  assert.equal(resume.status, 400);
  assert.equal(resume.json.error.code, 'resume_not_supported');
  ids.push(idOf(resume));
  assert.equal(new Set(ids).size, ids.length, 'one id per request');
});

test('the worker\'s log lines for a request carry its id (text: " req=<id>" ends the line)', async () => {
  const req = api(text.url);
  const created = await req('POST', '/api/rooms', { hostName: 'Alice' });
  assert.equal(created.status, 201);
  const id = idOf(created);
  const line = await logLine(text, (l) => l.includes(`room ${created.json.roomId} created`));
  assert.ok(line, 'the creation is logged at info');
  assert.ok(line.endsWith(` req=${id}`), line);
  // Lines written outside a request (startup) carry none.
  assert.ok(log(text).split('\n').some((l) => l.includes('listening on') && !l.includes(' req=')));
});

test('a client\'s X-Request-Id or Request-Id header does not replace nginx\'s id', async () => {
  const req = api(text.url);
  const headers = { 'x-request-id': CLIENT_ID, 'request-id': CLIENT_ID };
  const refused = await req('GET', '/api/nope', null, null, headers);
  assert.notEqual(idOf(refused), CLIENT_ID);
  const created = await req('POST', '/api/rooms', { hostName: 'Bob' }, null, headers);
  assert.equal(created.status, 201);
  const id = idOf(created);
  assert.notEqual(id, CLIENT_ID);
  const line = await logLine(text, (l) => l.includes(`room ${created.json.roomId} created`));
  assert.ok(line?.endsWith(` req=${id}`), line);
  assert.ok(!log(text).includes(CLIENT_ID), 'the client\'s id is in no log line');
});

test('the worker ignores a REQUEST_ID that is not nginx\'s form (its FastCGI socket, directly)', async () => {
  // nginx's form is taken...
  const good = '0123456789abcdef'.repeat(2);
  const ok = await fcgiCreate(text, good, 'Carol');
  assert.equal(ok.status, 201, ok.body);
  const okRoom = JSON.parse(ok.body).roomId;
  assert.ok((await logLine(text, (l) => l.includes(`room ${okRoom} created`)))?.endsWith(` req=${good}`));
  const nf = await fcgiRequest(text, { REQUEST_METHOD: 'GET', SCRIPT_NAME: '/api/nope', REQUEST_ID: good });
  assert.equal(JSON.parse(nf.body).error.requestId, good);
  assert.equal(nf.headers['x-request-id'], undefined, 'nginx adds X-Request-Id, not the worker');
  // ...anything else is dropped: not in the body, not in the log.
  const bads = [
    `${good.slice(0, 31)}\n2026-01-01T00:00:00.000Z wnc-fcgi[1] error: forged`,
    good.toUpperCase(), good.slice(1), `${good}0`, `${good.slice(0, 31)}"`, 'evil-request-id',
  ];
  for (const bad of bads) {
    const refused = await fcgiRequest(text, { REQUEST_METHOD: 'GET', SCRIPT_NAME: '/api/nope', REQUEST_ID: bad });
    assert.equal(refused.status, 404);
    assert.equal(JSON.parse(refused.body).error.requestId, null, JSON.stringify(bad));
  }
  const created = await fcgiCreate(text, bads[0], 'Dave');
  assert.equal(created.status, 201, created.body);
  const line = await logLine(text, (l) => l.includes(`room ${JSON.parse(created.body).roomId} created`));
  assert.ok(line && !line.includes(' req='), line);
  assert.ok(!log(text).includes('forged'));
});

test('WNC_LOG_FORMAT=json: every line of the daemons\' logs is a JSON object with the documented fields', async () => {
  const req = api(json.url);
  const created = await req('POST', '/api/rooms', { hostName: 'Erin' });
  assert.equal(created.status, 201);
  const id = idOf(created);
  idOf(await req('GET', '/api/nope', null, null, { 'x-request-id': CLIENT_ID }));
  // A malformed id straight to the socket: still whole JSON lines, and no requestId.
  const direct = await fcgiCreate(json, 'x"\n\\', 'Frank');
  assert.equal(direct.status, 201, direct.body);
  const directRoom = JSON.parse(direct.body).roomId;
  assert.ok(await logLine(json, (l) => l.includes(`room ${directRoom} created`)));

  const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  const FIELDS = ['time', 'level', 'component', 'pid', 'requestId', 'room', 'msg'];
  for (const [file, component] of [['fcgi.log', 'wnc-fcgi'], ['pushd.log', 'wnc-pushd']]) {
    const lines = log(json, file).split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 0, `${file} has lines`);
    for (const l of lines) {
      let o;
      assert.doesNotThrow(() => { o = JSON.parse(l); }, `${file}: not JSON: ${l}`);
      assert.equal(typeof o, 'object', l);
      for (const k of Object.keys(o)) assert.ok(FIELDS.includes(k), `${file}: unknown field ${k}: ${l}`);
      assert.match(o.time, TIME, l);
      assert.ok(Math.abs(Date.parse(o.time) - Date.now()) < 120000, `${file}: time is now, in UTC: ${l}`);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), l);
      assert.equal(o.component, component, l);
      assert.ok(Number.isInteger(o.pid) && o.pid > 0, l);
      assert.equal(typeof o.msg, 'string', l);
      if ('requestId' in o) assert.match(o.requestId, ID, l);
      if ('room' in o) assert.match(o.room, /^[A-Z0-9]{6}$/, l);
    }
  }
  const mine = log(json).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const line = mine.find((o) => o.msg === `room ${created.json.roomId} created`);
  assert.ok(line, 'the creation is logged');
  assert.equal(line.requestId, id);
  assert.equal(line.level, 'info');
  const directLine = mine.find((o) => o.msg === `room ${directRoom} created`);
  assert.equal(directLine.requestId, undefined, 'a malformed REQUEST_ID is not logged');
  assert.ok(mine.some((o) => o.msg.startsWith('listening on') && !('requestId' in o)));
  assert.ok(!log(json).includes(CLIENT_ID));
});
