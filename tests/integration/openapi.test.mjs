// docs/openapi.yaml against the real server (issue 15): every response of two private stacks,
// success and error, is validated (status, body, key headers) against the spec's response for
// its path, method and status, and every event received over WebSocket, EventSource and
// long-poll against the spec's event schemas. A response, header or event the spec does not
// describe fails, and so do routes, event types and error codes of the source that the spec
// lacks (or describes but the source does not have): the spec cannot drift.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import WebSocket from 'ws';
import { poolDown, startStack, ROOT } from '../lib/stack.mjs';
import { readEventStream, sleep } from '../lib/client.mjs';

// ---- the spec, compiled ------------------------------------------------------------------------
const spec = parseYaml(readFileSync(path.join(ROOT, 'docs/openapi.yaml'), 'utf8'));
const SPEC_ID = 'https://wnc.invalid/openapi';
const SCHEMA_PREFIX = '#/components/schemas/';

// Schema refs into components/schemas become refs into one ajv document holding them as $defs.
function rewrite(node) {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith(SCHEMA_PREFIX)
      ? `${SPEC_ID}#/$defs/${v.slice(SCHEMA_PREFIX.length)}` : rewrite(v);
  }
  return out;
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true, discriminator: true });
addFormats(ajv);
ajv.addSchema({ $id: SPEC_ID, $defs: rewrite(spec.components.schemas) });
const compiled = new WeakMap();
function validator(schema) {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(rewrite(schema)));
  return compiled.get(schema);
}
function valid(schema, value) {
  const v = validator(schema);
  return v(value) ? null : ajv.errorsText(v.errors, { separator: '; ' });
}

// Follows '#/components/...' references (responses, headers, request bodies, parameters).
function deref(node) {
  while (node && node.$ref) {
    assert.ok(node.$ref.startsWith('#/'), `external $ref ${node.$ref}`);
    node = node.$ref.slice(2).split('/').reduce((o, k) => o?.[k], spec);
    assert.ok(node, 'dangling $ref');
  }
  return node;
}

const routes = Object.entries(spec.paths).map(([template, item]) => ({
  template, item, re: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

// The spec's description of one answer: the operation's response for its status, or the
// x-unrouted one (no route has the path: 404; a route's path with another method: 405).
function responseSpec(method, urlPath, status) {
  const p = urlPath.split('?')[0];
  const route = routes.find((r) => r.re.test(p));
  const op = route?.item[method.toLowerCase()];
  const where = op ? `${method} ${route.template}` : route ? `${method} ${route.template} (no such operation)` : `${method} ${p} (no route)`;
  const declared = op ? op.responses : { [route ? '405' : '404']: spec['x-unrouted'].responses[route ? '405' : '404'] };
  const r = declared[String(status)];
  assert.ok(r, `the spec has no response ${status} for ${where}`);
  return { res: deref(r), op, route, key: `${where} ${status}` };
}

// ---- what was validated ----------------------------------------------------------------------
const stats = { responses: 0, requests: 0, events: 0, byType: {}, covered: new Set(), failures: [] };
const KEY_HEADERS = ['retry-after', 'allow', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-request-id', 'www-authenticate'];

function headerValue(schema, raw) {
  return schema.type === 'integer' && /^[0-9]+$/.test(raw) ? Number(raw) : raw;
}

// Validates one HTTP answer; returns the spec's response object. `streamed`: the body is a
// stream of events (WebSocket, EventSource), validated event by event by the caller.
function checkResponse({ method, path: urlPath, status, headers, text }, { streamed = false } = {}) {
  const { res, key } = responseSpec(method, urlPath, status);
  const ctx = `${key}: ${text?.slice(0, 300)}`;
  let media = null;
  if (res.content) {
    const ct = (headers.get('content-type') ?? '').split(';')[0].trim();
    media = res.content[ct];
    assert.ok(media, `${ctx}: content type '${ct}' is not one the spec lists (${Object.keys(res.content)})`);
    if (!streamed || ct === 'application/json') {
      let body;
      assert.doesNotThrow(() => { body = JSON.parse(text); }, `${ctx}: body is not JSON`);
      const err = valid(media.schema, body);
      assert.equal(err, null, `${ctx}: body does not match the spec: ${err}`);
      // An error names its request: the id nginx sent back in X-Request-Id.
      if (body?.error) assert.equal(body.error.requestId, headers.get('x-request-id'), `${ctx}: requestId is not X-Request-Id`);
    }
  } else {
    assert.equal(text ?? '', '', `${ctx}: the spec says no body`);
  }
  const declared = Object.fromEntries(Object.entries(res.headers ?? {}).map(([n, h]) => [n.toLowerCase(), deref(h)]));
  for (const [name, h] of Object.entries(declared)) {
    const raw = headers.get(name);
    if (h.required) assert.ok(raw !== null, `${ctx}: required header ${name} missing`);
    if (raw !== null) {
      const err = valid(h.schema, headerValue(h.schema, raw));
      assert.equal(err, null, `${ctx}: header ${name}: ${raw}: ${err}`);
    }
  }
  for (const name of KEY_HEADERS) {
    if (headers.get(name) !== null) assert.ok(declared[name], `${ctx}: header ${name} sent but not in the spec`);
  }
  stats.responses++;
  stats.covered.add(key);
  return { res, media };
}

// Whether the spec's request body schema agrees with the server about a JSON body: what the
// server accepted the spec accepts, and what it refused as a bad body the spec refuses (a join
// without userName is refused only without a token, which the body alone cannot say).
function checkRequestAgreement(out, body) {
  const { op } = responseSpec(out.method, out.path, out.status);
  if (!op) return;
  assert.ok(op.requestBody, `${out.method} ${out.path}: sent a body to an operation that takes none`);
  const schema = deref(op.requestBody).content['application/json'].schema;
  const err = valid(schema, body);
  const code = out.json?.error?.code;
  if (out.status >= 200 && out.status < 300) {
    assert.equal(err, null, `${out.method} ${out.path}: the server accepted ${JSON.stringify(body)} but the spec refuses it: ${err}`);
  } else if (['invalid_field', 'unknown_field'].includes(code) || (code === 'missing_field' && op.operationId !== 'joinRoom')) {
    assert.notEqual(err, null, `${out.method} ${out.path}: the server refused ${JSON.stringify(body)} (${code}) but the spec accepts it`);
  } else {
    return;
  }
  stats.requests++;
}

// One request, validated. body: an object (sent as JSON) or a string (sent as is).
async function call(stack, method, urlPath, { body, token, headers = {}, xff } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (xff) h['x-forwarded-for'] = xff;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!('content-type' in h)) h['content-type'] = 'application/json';
  }
  const res = await fetch(stack.url + urlPath, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  const out = { method, path: urlPath, status: res.status, headers: res.headers, text, json };
  checkResponse(out);
  if (body !== undefined && typeof body !== 'string' && h['content-type'] === 'application/json') checkRequestAgreement(out, body);
  return out;
}

function expectError(out, status, code, field) {
  assert.equal(out.status, status, `${out.method} ${out.path}: ${out.text}`);
  assert.equal(out.json.error.code, code, `${out.method} ${out.path}: ${out.text}`);
  if (field !== undefined) assert.equal(out.json.error.field, field);
  return out;
}

// ---- event streams -------------------------------------------------------------------------
// Every event is validated as it arrives (a failure is recorded, then asserted by the test).
function eventStream(name, schema) {
  const s = { name, events: [], waiters: [], closed: false };
  s.push = (raw) => {
    let e;
    try { e = JSON.parse(raw); } catch { stats.failures.push(`${name}: not JSON: ${raw}`); return; }
    const err = valid(schema, e);
    if (err) stats.failures.push(`${name}: event does not match the spec: ${raw}: ${err}`);
    stats.events++;
    stats.byType[e.type] = (stats.byType[e.type] ?? 0) + 1;
    s.events.push(e);
    for (const w of [...s.waiters]) w();
  };
  s.next = (pred, timeoutMs = 4000) => new Promise((resolve, reject) => {
    const match = typeof pred === 'string' ? (e) => e.type === pred : pred;
    let timer;
    const check = () => {
      const i = s.events.findIndex(match);
      if (i < 0) return;
      const [e] = s.events.splice(i, 1);
      clearTimeout(timer);
      s.waiters.splice(s.waiters.indexOf(check), 1);
      resolve(e);
    };
    timer = setTimeout(() => {
      s.waiters.splice(s.waiters.indexOf(check), 1);
      reject(new Error(`${name}: no matching event within ${timeoutMs} ms; have ${JSON.stringify(s.events.map((e) => e.type))}`));
    }, timeoutMs);
    s.waiters.push(check);
    check();
  });
  return s;
}

const nodeHeaders = (h) => new Headers(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));

async function ticket(stack, roomId, token, xff) {
  return (await ticketAndChannel(stack, roomId, token, xff)).ticket;
}

async function ticketAndChannel(stack, roomId, token, xff) {
  const out = await call(stack, 'POST', `/api/rooms/${roomId}/events/ticket`, { token, xff });
  assert.equal(out.status, 201, out.text);
  return out.json;
}

// A WebSocket subscription; the handshake's answer is validated (101, or the refusal).
function openWs(stack, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.port}${urlPath}`, { headers });
    let s;
    ws.on('upgrade', (res) => {
      try {
        const { res: r } = checkResponse({ method: 'GET', path: urlPath, status: res.statusCode, headers: nodeHeaders(res.headers), text: '' }, { streamed: true });
        assert.ok(r['x-message'], 'the 101 response names its message schema (x-message)');
        s = eventStream(`ws ${urlPath.split('?')[0]}`, r['x-message']);
        s.ws = ws;
        s.closedPromise = new Promise((done) => ws.on('close', () => { s.closed = true; done(); }));
        ws.on('message', (m) => s.push(String(m)));
      } catch (err) { reject(err); ws.terminate(); }
    });
    ws.on('open', () => resolve(s));
    ws.on('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        try {
          const out = { method: 'GET', path: urlPath, status: res.statusCode, headers: nodeHeaders(res.headers), text };
          checkResponse(out);
          out.json = JSON.parse(text);
          resolve({ refused: out });
        } catch (err) { reject(err); }
      });
    });
    ws.on('error', (err) => { if (!s) reject(err); });
  });
}

// An EventSource subscription (a streaming fetch): the answer is validated, then each `data:`
// field against the spec's event schema for text/event-stream (x-data).
async function openSse(stack, urlPath) {
  const controller = new AbortController();
  const res = await fetch(stack.url + urlPath, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  const { media } = checkResponse({ method: 'GET', path: urlPath, status: res.status, headers: res.headers, text: '' }, { streamed: true });
  assert.equal(res.status, 200);
  assert.ok(media['x-data'], 'the event-stream media type names its event schema (x-data)');
  const s = eventStream(`sse ${urlPath.split('?')[0]}`, media['x-data']);
  s.close = () => controller.abort();
  readEventStream(res.body, (data) => s.push(data)).then(() => { s.closed = true; });
  return s;
}

function noEventFailures() {
  assert.deepEqual(stats.failures, [], 'events that do not match the spec');
}

// ---- the source, read as text ----------------------------------------------------------------
function sourceRoutes() {
  const text = readFileSync(path.join(ROOT, 'fcgi/route.c'), 'utf8');
  const rows = [...text.matchAll(/^\s*\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)"/gm)];
  assert.ok(rows.length >= 15, 'the route table was found');
  return rows.map(([, m, p]) => [m, p.replace('{room}', '{roomId}').replace('{user}', '{userId}')])
    .map(([m, p]) => [m, p.replace('{message}', '{messageId}').replace('{ban}', '{banId}').replace('{item}', '{itemId}')])
    .filter(([, p]) => !p.startsWith('/_wnc/')).map(([m, p]) => `${m} ${p}`);
}

function sourceEventTypes() {
  const types = new Set();
  const dir = path.join(ROOT, 'sql');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.lua'))) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    for (const [, t] of text.matchAll(/envelope\('([a-z.]+)',/g)) types.add(t);
    // lib.lua: batch_event('user.joined', ...), the coalesced announcements.
    for (const [, t] of text.matchAll(/batch_event\('([a-z.]+)',/g)) types.add(t);
    // video.lua: envelope('video.' .. op, ...) for each op it takes.
    for (const [, prefix, v] of text.matchAll(/envelope\('([a-z.]+)' \.\. (\w+),/g)) {
      const ops = [...text.matchAll(new RegExp(`${v} == '(\\w+)'`, 'g'))].map((m) => m[1]);
      assert.ok(ops.length > 0, `${f}: the values of ${v}`);
      for (const op of ops) types.add(prefix + op);
    }
  }
  return types;
}

function specEventTypes() {
  const types = new Set();
  for (const ref of spec.components.schemas.Event.oneOf) {
    const t = deref(ref).properties.type;
    for (const v of t.const !== undefined ? [t.const] : t.enum) types.add(v);
  }
  return types;
}

function sourceErrors() {
  const errs = [];
  const err = readFileSync(path.join(ROOT, 'core/err.c'), 'utf8');
  for (const [, status, code] of err.matchAll(/\[E_\w+\] = \{(\d+), "(\w+)"/g)) if (code !== 'ok') errs.push([status, code]);
  const conf = readFileSync(path.join(ROOT, 'nginx/wnc-site.conf.in'), 'utf8');
  for (const [, status, code] of conf.matchAll(/return (\d+) '\{"error":\{"code":"(\w+)"/g)) errs.push([status, code]);
  assert.ok(errs.length >= 25, 'the error table was found');
  return errs;
}

// ---- stacks ------------------------------------------------------------------------------------
let main, limits;
before(async () => {
  [main, limits] = await Promise.all([
    // Short timers so that every event type shows up within seconds.
    startStack({ env: { WNC_SYNC_INTERVAL_MS: '200', WNC_HEARTBEAT_MS: '500', WNC_TYPING_TTL_MS: '400', WNC_GRACE_MS: '2000' } }),
    // Small limits; the clients are told apart by X-Forwarded-For behind a trusted proxy.
    startStack({ env: {
      WNC_TRUSTED_PROXIES: '127.0.0.1', WNC_NGINX_RATE: '5', WNC_NGINX_BURST: '10', WNC_RATE_LIMIT: '5',
      WNC_MAX_SUBS_PER_IP: '1', WNC_CHAT_RATE: '2', WNC_CONTROL_RATE: '2', WNC_MAX_USERS: '2', WNC_GRACE_MS: '2000',
    } }),
  ]);
});
after(async () => { await Promise.all([main?.stop(), limits?.stop()]); });

// ---- the spec against the source ------------------------------------------------------------
test('every route of fcgi/route.c is in the spec, and the spec has no other but nginx\'s own', () => {
  const inSpec = [];
  const site = readFileSync(path.join(ROOT, 'nginx/wnc-site.conf.in'), 'utf8');
  for (const [p, item] of Object.entries(spec.paths)) {
    if (item['x-served-by'] === 'nginx') {
      // Served by an nginx location (its regex, in the config's escaped form, names the path).
      const re = `^${p.replace('{roomId}', '(?<wnc_sub_room>[A-Za-z0-9]{6})').replace('{channel}', '(?<wnc_sub_channel>[A-Z0-9]{6}-[0-9]{1,12})')}$`;
      assert.ok(site.includes(`location ~ "${re}"`), `nginx serves ${p}`);
      continue;
    }
    for (const m of METHODS) if (item[m]) inSpec.push(`${m.toUpperCase()} ${p}`);
  }
  assert.deepEqual([...inSpec].sort(), sourceRoutes().sort());
});

test('every event type the Lua scripts publish has a schema, and no schema is for another', () => {
  assert.deepEqual([...specEventTypes()].sort(), [...sourceEventTypes()].sort());
});

test('every error code (core/err.c, nginx) has its status and a response that admits it', () => {
  const enumCodes = new Set(spec.components.schemas.ErrorCode.enum);
  const errs = sourceErrors();
  assert.deepEqual([...enumCodes].sort(), [...new Set(errs.map(([, c]) => c))].sort());
  const byStatus = {};
  const all = [...Object.values(spec.paths).flatMap((item) => METHODS.filter((m) => item[m]).map((m) => item[m].responses)), spec['x-unrouted'].responses];
  for (const responses of all) {
    for (const [status, r] of Object.entries(responses)) (byStatus[status] ??= new Set()).add(deref(r));
  }
  for (const [status, code] of errs) {
    const admits = [...(byStatus[status] ?? [])].some((r) => {
      const schema = r.content?.['application/json']?.schema;
      return schema && [null, 'roomId', 'userId', 'ticket', 'token', 'userName'].some((field) =>
        valid(schema, { error: { code, message: 'm', field, requestId: '0123456789abcdef'.repeat(2) } }) === null);
    });
    assert.ok(admits, `no ${status} response in the spec admits code ${code}`);
  }
});

// ---- real answers --------------------------------------------------------------------------------
test('every route, its errors and every event over WebSocket, EventSource and long-poll match the spec', async () => {
  const s = main;
  const health = await call(s, 'GET', '/health');
  assert.equal(health.status, 200);
  assert.equal((await call(s, 'GET', '/api/time')).status, 200);

  // create, and what create refuses
  const created = await call(s, 'POST', '/api/rooms', { body: { hostName: '  Alice  ' } });
  assert.equal(created.status, 201);
  const roomId = created.json.roomId;
  const host = { userId: created.json.userId, token: created.json.token };
  const base = `/api/rooms/${roomId}`;
  expectError(await call(s, 'POST', '/api/rooms'), 400, 'invalid_json');
  expectError(await call(s, 'POST', '/api/rooms', { body: '{"hostName":' }), 400, 'invalid_json');
  expectError(await call(s, 'POST', '/api/rooms', { body: {} }), 400, 'missing_field', 'hostName');
  expectError(await call(s, 'POST', '/api/rooms', { body: { hostName: 'A' } }), 400, 'invalid_field', 'hostName');
  expectError(await call(s, 'POST', '/api/rooms', { body: { hostName: 'x'.repeat(51) } }), 400, 'invalid_field', 'hostName');
  expectError(await call(s, 'POST', '/api/rooms', { body: { hostName: 'Al<b>' } }), 400, 'invalid_field', 'hostName');
  expectError(await call(s, 'POST', '/api/rooms', { body: { hostName: 42 } }), 400, 'invalid_field', 'hostName');
  expectError(await call(s, 'POST', '/api/rooms', { body: { hostName: 'Alice', admin: true } }), 400, 'unknown_field', 'admin');
  expectError(await call(s, 'POST', '/api/rooms', { body: 'hostName=Alice', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
  expectError(await call(s, 'POST', '/api/rooms', { body: JSON.stringify({ hostName: 'x'.repeat(17000) }) }), 413, 'body_too_large');
  // A second room, for tokens and tickets of another room; its host keeps a stream open so
  // that the grace period does not remove it.
  const other = await call(s, 'POST', '/api/rooms', { body: { hostName: 'Zed' } });
  assert.equal(other.status, 201);
  const otherWs = await openWs(s, `/api/rooms/${other.json.roomId}/events?ticket=${await ticket(s, other.json.roomId, other.json.token)}`);

  // not routed: 404, 405 with Allow
  expectError(await call(s, 'GET', '/api/nope'), 404, 'not_found');
  expectError(await call(s, 'GET', `${base}/video`), 405, 'method_not_allowed');
  expectError(await call(s, 'DELETE', base), 405, 'method_not_allowed');
  expectError(await call(s, 'GET', '/api/rooms'), 405, 'method_not_allowed');
  expectError(await call(s, 'POST', '/health'), 405, 'method_not_allowed');

  // the host listens over WebSocket
  const hostWs = await openWs(s, `${base}/events?ticket=${await ticket(s, roomId, host.token)}`);
  await hostWs.next((e) => e.type === 'user.presence' && e.data.userId === host.userId && e.data.online);

  // a room: summary, state, and refusals
  assert.deepEqual((await call(s, 'GET', base)).json, { id: roomId, exists: true, userCount: 1, hasVideo: false, locked: false, hasPassword: false });
  assert.equal((await call(s, 'GET', `/api/rooms/${roomId.toLowerCase()}`, { token: host.token })).json.userId, host.userId);
  expectError(await call(s, 'GET', '/api/rooms/abc'), 400, 'invalid_room_id', 'roomId');
  expectError(await call(s, 'GET', '/api/rooms/QQ0QQ0'), 404, 'room_not_found');
  expectError(await call(s, 'GET', base, { token: other.json.token }), 403, 'forbidden');
  expectError(await call(s, 'GET', base, { token: `${roomId}.nope` }), 401, 'unauthorized');
  expectError(await call(s, 'GET', base, { headers: { authorization: 'Basic YTpi' } }), 401, 'unauthorized');

  // join, rejoin, and refusals
  const joined = await call(s, 'POST', `${base}/join`, { body: { userName: 'Bob' } });
  assert.equal(joined.status, 201);
  const bob = { userId: joined.json.userId, token: joined.json.token };
  await hostWs.next((e) => e.type === 'user.joined' && e.data.user.id === bob.userId);
  const rejoined = await call(s, 'POST', `${base}/join`, { body: {}, token: bob.token });
  assert.equal(rejoined.status, 200);
  assert.equal(rejoined.json.userId, bob.userId);
  assert.equal((await call(s, 'POST', `${base}/join`, { token: bob.token })).status, 200);
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: ' BOB ' } }), 409, 'name_taken', 'userName');
  expectError(await call(s, 'POST', `${base}/join`, { body: {} }), 400, 'missing_field', 'userName');
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'B' } }), 400, 'invalid_field', 'userName');
  expectError(await call(s, 'POST', `${base}/join`, { body: { name: 'Bobby' } }), 400, 'unknown_field', 'name');
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Bobby' }, token: other.json.token }), 403, 'forbidden');
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Bobby' }, token: 'garbage' }), 401, 'unauthorized');
  expectError(await call(s, 'POST', '/api/rooms/QQ0QQ0/join', { body: { userName: 'Bobby' } }), 404, 'room_not_found');
  expectError(await call(s, 'POST', '/api/rooms/QQ-QQ0/join', { body: { userName: 'Bobby' } }), 400, 'invalid_room_id', 'roomId');

  // Bob listens over EventSource
  const bobSse = await openSse(s, `${base}/events?ticket=${await ticket(s, roomId, bob.token)}`);
  await hostWs.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);

  // The channel's own path: WebSocket and EventSource, and its refusals
  const tc = await ticketAndChannel(s, roomId, host.token);
  assert.equal(tc.channel, joined.json.channel);
  const chWs = await openWs(s, `${base}/events/${tc.channel}?ticket=${tc.ticket}&user=${host.userId}`);
  const tb = await ticketAndChannel(s, roomId, bob.token);
  const chSse = await openSse(s, `${base}/events/${tb.channel}?ticket=${tb.ticket}&user=${bob.userId}`);
  const sseAccept = { accept: 'text/event-stream' };
  expectError(await call(s, 'GET', `${base}/events/${tc.channel}`, { token: bob.token, headers: sseAccept }), 400, 'invalid_field', 'user');
  expectError(await call(s, 'GET', `${base}/events/${tc.channel}?user=${host.userId}`, { token: bob.token, headers: sseAccept }), 403, 'forbidden', 'user');
  expectError(await call(s, 'GET', `${base}/events/${roomId}-999?user=${bob.userId}`, { token: bob.token, headers: sseAccept }), 409, 'channel_moved');
  expectError(await call(s, 'GET', `${base}/events/${tc.channel}?user=${bob.userId}&token=${bob.token}`, { headers: sseAccept }), 400, 'token_in_url', 'token');
  expectError(await call(s, 'GET', `${base}/events/${tc.channel}?user=${bob.userId}`, { headers: sseAccept }), 401, 'unauthorized');
  expectError(await call(s, 'GET', `${base}/events/${tc.channel}?user=${bob.userId}`, { token: other.json.token, headers: sseAccept }), 403, 'forbidden');
  const chRefused = await openWs(s, `${base}/events/${tc.channel}?user=${bob.userId}&ticket=${tc.ticket}`, { 'last-event-id': '5' });
  expectError(chRefused.refused, 400, 'resume_not_supported');

  // chat
  const posted = await call(s, 'POST', `${base}/chat`, { body: { text: '  hello\tthere \u3000' }, token: bob.token });
  assert.equal(posted.status, 201);
  assert.equal(posted.json.message.text, 'hello\tthere');
  await hostWs.next('chat.message');
  await bobSse.next('chat.message');
  await chWs.next('chat.message');
  await chSse.next('chat.message');
  chWs.ws.terminate();
  chSse.close();
  assert.equal((await call(s, 'POST', `${base}/chat`, { body: { text: '😀'.repeat(1000) }, token: host.token })).status, 201);
  assert.equal((await call(s, 'GET', `${base}/chat`, { token: bob.token })).json.messages.length, 2);
  expectError(await call(s, 'POST', `${base}/chat`, { body: { text: ' \n ' }, token: bob.token }), 400, 'invalid_field', 'text');
  expectError(await call(s, 'POST', `${base}/chat`, { body: { text: 'x'.repeat(1001) }, token: bob.token }), 400, 'invalid_field', 'text');
  expectError(await call(s, 'POST', `${base}/chat`, { body: { text: 'bell\u0007' }, token: bob.token }), 400, 'invalid_field', 'text');
  expectError(await call(s, 'POST', `${base}/chat`, { body: { text: ['hi'] }, token: bob.token }), 400, 'invalid_field', 'text');
  expectError(await call(s, 'POST', `${base}/chat`, { body: { text: 'hi' } }), 401, 'unauthorized');
  expectError(await call(s, 'GET', `${base}/chat`), 401, 'unauthorized');
  expectError(await call(s, 'GET', `${base}/chat`, { token: other.json.token }), 403, 'forbidden');
  expectError(await call(s, 'GET', '/api/rooms/QQ0QQ0/chat', { token: 'QQ0QQ0.' + 'a'.repeat(43) }), 404, 'room_not_found');
  expectError(await call(s, 'POST', `${base}/chat`, { body: 'hi', token: bob.token, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');

  // typing: start, stop, and a start that pushd expires
  assert.equal((await call(s, 'POST', `${base}/typing`, { body: { typing: true }, token: bob.token })).status, 204);
  await hostWs.next((e) => e.type === 'typing' && e.data.typing);
  assert.equal((await call(s, 'POST', `${base}/typing`, { body: { typing: false }, token: bob.token })).status, 204);
  await hostWs.next((e) => e.type === 'typing' && !e.data.typing);
  assert.equal((await call(s, 'POST', `${base}/typing`, { body: { typing: true }, token: bob.token })).status, 204);
  await hostWs.next((e) => e.type === 'typing' && e.data.typing);
  await hostWs.next((e) => e.type === 'typing' && !e.data.typing, 3000);
  expectError(await call(s, 'POST', `${base}/typing`, { body: { typing: 'yes' }, token: bob.token }), 400, 'invalid_field', 'typing');
  expectError(await call(s, 'POST', `${base}/typing`, { token: bob.token }), 400, 'invalid_json');

  // video: hosts only, a video first, then every control
  expectError(await call(s, 'PUT', `${base}/video`, { body: { url: 'https://example.com/a.mp4' }, token: bob.token }), 403, 'not_host');
  expectError(await call(s, 'PUT', `${base}/video`, { body: { url: 'https://example.com/a.mp4' }, token: other.json.token }), 403, 'forbidden');
  for (const op of ['play', 'pause', 'seek']) {
    expectError(await call(s, 'POST', `${base}/video/${op}`, { body: { position: 1 }, token: host.token }), 409, 'no_video');
  }
  expectError(await call(s, 'POST', `${base}/video/rate`, { body: { rate: 2 }, token: host.token }), 409, 'no_video');
  for (const url of ['https://youtu.be/dQw4w9WgXcQ', 'https://cdn.example.com/live/index.m3u8?x=1', 'http://user@example.com:8080/film.mp4']) {
    const set = await call(s, 'PUT', `${base}/video`, { body: { url }, token: host.token });
    assert.equal(set.status, 200);
    await hostWs.next((e) => e.type === 'video.set' && e.data.video.url === url);
  }
  for (const url of ['ftp://example.com/a.mp4', 'https://exa mple.com/a.mp4', 'http://', 'https://x/'.padEnd(2049, 'a'), 'https://@/a']) {
    expectError(await call(s, 'PUT', `${base}/video`, { body: { url }, token: host.token }), 400, 'invalid_field', 'url');
  }
  assert.equal((await call(s, 'POST', `${base}/video/play`, { body: { position: 12.5 }, token: host.token })).status, 200);
  await hostWs.next('video.play');
  await hostWs.next('video.sync', 2000);
  await bobSse.next('video.sync', 2000);
  assert.equal((await call(s, 'POST', `${base}/video/rate`, { body: { rate: 1.5 }, token: host.token })).status, 200);
  await hostWs.next('video.rate');
  assert.equal((await call(s, 'POST', `${base}/video/seek`, { body: { position: 30 }, token: host.token })).status, 200);
  await hostWs.next('video.seek');
  assert.equal((await call(s, 'POST', `${base}/video/pause`, { body: { position: 1e7 }, token: host.token })).status, 200);
  await hostWs.next('video.pause');
  expectError(await call(s, 'POST', `${base}/video/rate`, { body: { rate: 4.5 }, token: host.token }), 400, 'invalid_field', 'rate');
  expectError(await call(s, 'POST', `${base}/video/rate`, { body: { rate: 0.2 }, token: host.token }), 400, 'invalid_field', 'rate');
  expectError(await call(s, 'POST', `${base}/video/seek`, { body: { position: -1 }, token: host.token }), 400, 'invalid_field', 'position');
  expectError(await call(s, 'POST', `${base}/video/seek`, { body: { position: 1e7 + 1 }, token: host.token }), 400, 'invalid_field', 'position');
  expectError(await call(s, 'POST', `${base}/video/play`, { body: { position: '1' }, token: host.token }), 400, 'invalid_field', 'position');
  expectError(await call(s, 'POST', `${base}/video/pause`, { body: {}, token: host.token }), 400, 'missing_field', 'position');
  expectError(await call(s, 'POST', `${base}/video/play`, { body: { position: 1, rate: 1 }, token: host.token }), 400, 'unknown_field', 'rate');

  // watching together (issue 17): the queue and auto-advance, subtitles, reactions, buffering
  const q = `${base}/queue`;
  const A = 'https://example.com/a.webm';
  expectError(await call(s, 'POST', `${base}/video/next`, { token: host.token }), 409, 'queue_empty');
  const item = await call(s, 'POST', q, { body: { url: A }, token: host.token });
  assert.equal(item.status, 201);
  await hostWs.next('queue.updated');
  await bobSse.next('queue.updated');
  const yt = (await call(s, 'POST', q, { body: { url: 'https://youtu.be/dQw4w9WgXcQ' }, token: host.token })).json.item;
  expectError(await call(s, 'POST', q, { body: { url: A }, token: bob.token }), 403, 'not_host');
  expectError(await call(s, 'POST', q, { body: { url: 'ftp://x/a.mp4' }, token: host.token }), 400, 'invalid_field', 'url');
  expectError(await call(s, 'POST', q, { body: { url: A, at: 0 }, token: host.token }), 400, 'unknown_field', 'at');
  assert.equal((await call(s, 'POST', `${q}/${yt.id}/move`, { body: { index: 0 }, token: host.token })).status, 200);
  assert.deepEqual((await call(s, 'POST', `${q}/${yt.id}/move`, { body: { index: 99 }, token: host.token })).json.queue.map((i) => i.id), [item.json.item.id, yt.id]);
  expectError(await call(s, 'POST', `${q}/${yt.id}/move`, { body: { index: 0.5 }, token: host.token }), 400, 'invalid_field', 'index');
  expectError(await call(s, 'POST', `${q}/${yt.id}/move`, { body: { index: 0 }, token: bob.token }), 403, 'not_host');
  expectError(await call(s, 'POST', `${q}/777/move`, { body: { index: 0 }, token: host.token }), 404, 'item_not_found');
  expectError(await call(s, 'DELETE', `${q}/0`, { token: host.token }), 400, 'invalid_field', 'itemId');
  expectError(await call(s, 'DELETE', `${q}/${yt.id}`, { token: bob.token }), 403, 'not_host');
  assert.equal((await call(s, 'DELETE', `${q}/${yt.id}`, { token: host.token })).status, 204);
  expectError(await call(s, 'DELETE', `${q}/${yt.id}`, { token: host.token }), 404, 'item_not_found');
  expectError(await call(s, 'POST', `${base}/video/next`, { token: bob.token }), 403, 'not_host');
  const next = await call(s, 'POST', `${base}/video/next`, { body: {}, token: host.token });
  assert.equal(next.status, 200);
  await hostWs.next((e) => e.type === 'video.set' && e.data.video.url === A);
  assert.equal((await call(s, 'POST', `${base}/video/ended`, { body: { url: A }, token: bob.token })).status, 204);
  expectError(await call(s, 'POST', `${base}/video/ended`, { body: { url: 'x' }, token: bob.token }), 400, 'invalid_field', 'url');
  expectError(await call(s, 'POST', `${base}/video/ended`, { body: { url: A }, token: other.json.token }), 403, 'forbidden');
  const subs = `${base}/video/subtitles`;
  const track = { url: 'https://example.com/a.vtt', label: ' English ', lang: 'en-GB' };
  assert.equal((await call(s, 'PUT', subs, { body: track, token: host.token })).status, 200);
  await hostWs.next('video.subtitles');
  expectError(await call(s, 'PUT', subs, { body: { ...track, label: ' ' }, token: host.token }), 400, 'invalid_field', 'label');
  expectError(await call(s, 'PUT', subs, { body: { ...track, label: 'x'.repeat(51) }, token: host.token }), 400, 'invalid_field', 'label');
  expectError(await call(s, 'PUT', subs, { body: { ...track, lang: 'en_GB' }, token: host.token }), 400, 'invalid_field', 'lang');
  expectError(await call(s, 'PUT', subs, { body: { ...track, url: 'data:text/vtt,x' }, token: host.token }), 400, 'invalid_field', 'url');
  expectError(await call(s, 'PUT', subs, { body: { url: track.url, lang: 'en' }, token: host.token }), 400, 'missing_field', 'label');
  expectError(await call(s, 'PUT', subs, { body: track, token: bob.token }), 403, 'not_host');
  assert.equal((await call(s, 'DELETE', subs, { token: host.token })).status, 204);
  await hostWs.next((e) => e.type === 'video.subtitles' && e.data.subtitles === null);
  expectError(await call(s, 'DELETE', subs, { token: bob.token }), 403, 'not_host');
  assert.equal((await call(s, 'PUT', `${base}/video`, { body: { url: 'https://youtu.be/dQw4w9WgXcQ' }, token: host.token })).status, 200);
  expectError(await call(s, 'PUT', subs, { body: track, token: host.token }), 409, 'not_supported');
  assert.equal((await call(s, 'POST', `${base}/reactions`, { body: { emoji: '🎉' }, token: bob.token })).status, 204);
  await hostWs.next('reaction');
  expectError(await call(s, 'POST', `${base}/reactions`, { body: { emoji: '💩' }, token: bob.token }), 400, 'invalid_field', 'emoji');
  expectError(await call(s, 'POST', `${base}/reactions`, { body: { emoji: '🎉' } }), 401, 'unauthorized');
  // Wait for everyone: with waitForAll on, Bob (online over EventSource) buffering for over 1 s.
  if ((await call(s, 'PATCH', `${base}/settings`, { body: { waitForAll: true }, token: host.token })).status !== 200) {
    execFileSync('redis-cli', ['-p', String(s.redisPort), 'HSET', `room:{${roomId}}`, 'waitForAll', '1']);
  }
  assert.equal((await call(s, 'PUT', `${base}/video`, { body: { url: A }, token: host.token })).status, 200);
  assert.equal((await call(s, 'DELETE', subs, { token: host.token })).status, 204, 'no track: nothing to clear');
  assert.equal((await call(s, 'POST', `${base}/video/play`, { body: { position: 0 }, token: host.token })).status, 200);
  assert.equal((await call(s, 'POST', `${base}/buffering`, { body: { buffering: true, position: 0 }, token: bob.token })).status, 204);
  await hostWs.next('room.waiting', 4000);
  await bobSse.next('room.waiting');
  assert.equal((await call(s, 'POST', `${base}/buffering`, { body: { buffering: false, position: 0.5 }, token: bob.token })).status, 204);
  await hostWs.next((e) => e.type === 'video.play' && e.data.video.updatedAt > e.at);
  expectError(await call(s, 'POST', `${base}/buffering`, { body: { buffering: 1, position: 0 }, token: bob.token }), 400, 'invalid_field', 'buffering');
  expectError(await call(s, 'POST', `${base}/buffering`, { body: { buffering: true }, token: bob.token }), 400, 'missing_field', 'position');

  // promote, and what it refuses
  expectError(await call(s, 'POST', `${base}/users/${host.userId}/promote`, { token: bob.token }), 403, 'not_host');
  assert.equal((await call(s, 'POST', `${base}/users/${bob.userId.toUpperCase()}/promote`, { token: host.token })).status, 204);
  await hostWs.next((e) => e.type === 'user.promoted' && e.data.userId === bob.userId);
  assert.equal((await call(s, 'POST', `${base}/users/${bob.userId}/promote`, { body: {}, token: host.token })).status, 204);
  expectError(await call(s, 'POST', `${base}/users/not-a-uuid/promote`, { token: host.token }), 400, 'invalid_user_id', 'userId');
  expectError(await call(s, 'POST', `${base}/users/${randomUUID()}/promote`, { token: host.token }), 404, 'user_not_found');
  expectError(await call(s, 'POST', `${base}/users/${bob.userId}/promote`, { body: { now: true }, token: host.token }), 400, 'unknown_field', 'now');
  expectError(await call(s, 'POST', `${base}/users/${bob.userId}/kick`, { token: other.json.token }), 403, 'forbidden');

  // Bob goes offline, then leaves
  bobSse.close();
  await hostWs.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && !e.data.online);
  assert.equal((await call(s, 'POST', `${base}/leave`, { token: bob.token })).status, 204);
  await hostWs.next((e) => e.type === 'user.left' && e.data.userId === bob.userId && e.data.reason === 'left');
  expectError(await call(s, 'POST', `${base}/leave`, { token: bob.token }), 401, 'unauthorized');
  expectError(await call(s, 'POST', `${base}/leave`, { body: { bye: 1 }, token: host.token }), 400, 'unknown_field', 'bye');
  expectError(await call(s, 'POST', '/api/rooms/QQ0QQ0/leave', { token: 'QQ0QQ0.' + 'a'.repeat(43) }), 404, 'room_not_found');

  // Carol long-polls with her token, then is kicked: every stream of the room closes
  const carolJoin = await call(s, 'POST', `${base}/join`, { body: { userName: 'Carol' } });
  const carol = { userId: carolJoin.json.userId, token: carolJoin.json.token };
  await hostWs.next((e) => e.type === 'user.joined' && e.data.user.id === carol.userId);
  const poll = await call(s, 'GET', `${base}/events`, { token: carol.token });
  assert.equal(poll.status, 200, 'the next event (heartbeats come every 500 ms)');
  await hostWs.next((e) => e.type === 'user.presence' && e.data.userId === carol.userId && e.data.online);
  const carolTicket = await ticket(s, roomId, carol.token);
  assert.equal((await call(s, 'POST', `${base}/users/${carol.userId}/kick`, { body: {}, token: host.token })).status, 204);
  await hostWs.next((e) => e.type === 'user.left' && e.data.userId === carol.userId && e.data.reason === 'kicked');
  await Promise.race([hostWs.closedPromise, sleep(3000).then(() => assert.fail('the kick closed the room\'s streams'))]);
  expectError(await call(s, 'GET', `${base}/events?ticket=${carolTicket}`), 401, 'unauthorized');
  expectError(await call(s, 'POST', `${base}/users/${carol.userId}/kick`, { token: host.token }), 404, 'user_not_found');
  expectError(await call(s, 'POST', `${base}/events/ticket`, { token: carol.token }), 401, 'unauthorized');

  // subscription refusals
  const t = await ticket(s, roomId, host.token);
  expectError(await call(s, 'GET', `${base}/events?token=${host.token}`), 400, 'token_in_url', 'token');
  expectError(await call(s, 'GET', `${base}/events?last_event_id=1`, { token: host.token }), 400, 'resume_not_supported');
  for (const h of [{ 'last-event-id': '1' }, { 'if-none-match': '3' }, { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }]) {
    expectError(await call(s, 'GET', `${base}/events?ticket=${t}`, { headers: h }), 400, 'resume_not_supported');
  }
  expectError(await call(s, 'GET', `${base}/events`), 401, 'unauthorized');
  expectError(await call(s, 'GET', `${base}/events?ticket=garbage`), 401, 'unauthorized', 'ticket');
  expectError(await call(s, 'GET', `${base}/events?ticket=${await ticket(s, other.json.roomId, other.json.token)}`), 403, 'forbidden', 'ticket');
  expectError(await call(s, 'GET', `/api/rooms/QQ0QQ0/events?ticket=QQ0QQ0.${'a'.repeat(43)}`), 404, 'room_not_found');
  expectError(await call(s, 'GET', '/api/rooms/QQ0QQ/events'), 400, 'invalid_room_id', 'roomId');
  expectError(await call(s, 'POST', `${base}/events/ticket`, { body: 'x', token: host.token, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  expectError(await call(s, 'POST', `${base}/events/ticket`, { body: { for: 'ws' }, token: host.token }), 400, 'unknown_field', 'for');
  const refused = await openWs(s, `${base}/events?ticket=${t}`, { 'last-event-id': '5' });
  expectError(refused.refused, 400, 'resume_not_supported');

  // The host reconnects; Dave joins and never subscribes: removed after the grace period
  const hostWs2 = await openWs(s, `${base}/events?ticket=${await ticket(s, roomId, host.token)}`);
  const dave = (await call(s, 'POST', `${base}/join`, { body: { userName: 'Dave' } })).json;
  await hostWs2.next((e) => e.type === 'user.joined' && e.data.user.id === dave.userId);
  await hostWs2.next((e) => e.type === 'user.left' && e.data.userId === dave.userId && e.data.reason === 'timeout', 6000);
  await hostWs2.next('heartbeat', 2000);

  // the last member leaves: the room closes
  assert.equal((await call(s, 'POST', `${base}/leave`, { body: {}, token: host.token })).status, 204);
  await hostWs2.next((e) => e.type === 'user.left' && e.data.userId === host.userId && e.data.reason === 'left');
  await hostWs2.next('room.closed');
  expectError(await call(s, 'GET', base), 404, 'room_not_found');
  hostWs2.ws.terminate();
  otherWs.ws.terminate();
  noEventFailures();
});

test('limits, long-poll, overload and an unavailable store match the spec', async () => {
  const s = limits;
  // A flood from one client: nginx's 429 (Retry-After: 1) and the per-address window's
  // (X-RateLimit-*), all of them validated.
  const flood = await Promise.all(Array.from({ length: 24 }, () => call(s, 'GET', '/api/time', { xff: '198.51.100.1' })));
  const limited = flood.filter((r) => r.status === 429);
  assert.ok(limited.some((r) => r.headers.get('x-ratelimit-limit') === null && r.headers.get('retry-after') === '1'), 'nginx limited some');
  assert.ok(limited.some((r) => r.headers.get('x-ratelimit-remaining') === '0'), 'the worker limited some');
  assert.equal(flood.filter((r) => r.status === 200).length, 5);

  // Per-member limits and a full room (WNC_MAX_USERS 2).
  const xff = '198.51.100.2';
  const created = await call(s, 'POST', '/api/rooms', { body: { hostName: 'Host' }, xff });
  const { roomId, token } = created.json;
  const base = `/api/rooms/${roomId}`;
  assert.equal((await call(s, 'POST', `${base}/join`, { body: { userName: 'Bob' }, xff })).status, 201);
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Carol' }, xff }), 409, 'room_full', null);
  const chats = [];
  for (let i = 0; i < 3; i++) chats.push(await call(s, 'POST', `${base}/chat`, { body: { text: `m${i}` }, token, xff }));
  assert.deepEqual(chats.map((r) => r.status), [201, 201, 429]);
  assert.ok(Number(chats[2].headers.get('retry-after')) >= 1);
  const controls = [await call(s, 'PUT', `${base}/video`, { body: { url: 'https://example.com/a.mp4' }, token, xff })];
  controls.push(await call(s, 'POST', `${base}/video/play`, { body: { position: 0 }, token, xff }));
  controls.push(await call(s, 'POST', `${base}/video/seek`, { body: { position: 3 }, token, xff }));
  assert.deepEqual(controls.map((r) => r.status), [200, 200, 429]);

  // The subscription cap (WNC_MAX_SUBS_PER_IP 1): Retry-After 5.
  const capXff = '198.51.100.3';
  const capRoom = (await call(s, 'POST', '/api/rooms', { body: { hostName: 'Cap' }, xff: capXff })).json;
  const capBase = `/api/rooms/${capRoom.roomId}/events`;
  const first = await openWs(s, `${capBase}?ticket=${await ticket(s, capRoom.roomId, capRoom.token, capXff)}`, { 'x-forwarded-for': capXff });
  await first.next('user.presence');
  const second = await openWs(s, `${capBase}?ticket=${await ticket(s, capRoom.roomId, capRoom.token, capXff)}`, { 'x-forwarded-for': capXff });
  expectError(second.refused, 429, 'rate_limited');
  assert.equal(second.refused.headers.get('retry-after'), '5');
  first.ws.terminate();

  // A subscription through the authorizer counts in the address's window (WNC_RATE_LIMIT 5),
  // in the same call that takes its place: past the window, 429 with X-RateLimit-Remaining 0,
  // and no place taken.
  const rlXff = '198.51.100.17';
  const rlRoom = (await call(s, 'POST', '/api/rooms', { body: { hostName: 'Rl' }, xff: rlXff })).json;
  const rlTicket = await ticketAndChannel(s, rlRoom.roomId, rlRoom.token, rlXff);
  for (let i = 0; i < 4; i++) assert.equal((await call(s, 'GET', '/api/time', { xff: rlXff })).status, 200);
  const rlPath = `/api/rooms/${rlRoom.roomId}/events/${rlTicket.channel}?ticket=${rlTicket.ticket}&user=${rlRoom.userId}`;
  const overWindow = await openWs(s, rlPath, { 'x-forwarded-for': rlXff });
  expectError(overWindow.refused, 429, 'rate_limited');
  assert.equal(overWindow.refused.headers.get('x-ratelimit-remaining'), '0');
  assert.ok(Number(overWindow.refused.headers.get('retry-after')) >= 1);
  assert.equal(execFileSync('redis-cli', ['-p', String(s.redisPort), 'EXISTS', `subs:{${rlXff}}`], { encoding: 'utf8' }).trim(), '0', 'no place taken');

  // Long-poll: the next event as JSON, or 408 and no body when none comes (heartbeats are
  // 15 s apart here; the poll ends after half the 2 s grace).
  const lpXff = '198.51.100.4';
  const lpRoom = (await call(s, 'POST', '/api/rooms', { body: { hostName: 'Poller' }, xff: lpXff })).json;
  const lpBase = `/api/rooms/${lpRoom.roomId}`;
  const waiting = call(s, 'GET', `${lpBase}/events`, { token: lpRoom.token, xff: lpXff });
  await sleep(300);
  assert.equal((await call(s, 'POST', `${lpBase}/chat`, { body: { text: 'ping' }, token: lpRoom.token, xff: lpXff })).status, 201);
  const got = await waiting;
  assert.equal(got.status, 200);
  assert.ok(['user.presence', 'chat.message'].includes(got.json.type), got.text);
  let timedOut;
  for (let i = 0; i < 3 && !timedOut; i++) {
    const r = await call(s, 'GET', `${lpBase}/events`, { token: lpRoom.token, xff: lpXff });
    if (r.status === 408) timedOut = r;
  }
  assert.ok(timedOut, 'a poll with no event ends in 408');

  // The worker pool away (crashed, not yet restarted): nginx's 503 overloaded, Retry-After 1.
  const back = await poolDown(s, { noSocket: true });
  let down;
  try {
    down = await call(s, 'GET', '/api/time', { xff: '198.51.100.5' });
  } finally {
    await back();
  }
  expectError(down, 503, 'overloaded');
  assert.equal(down.headers.get('retry-after'), '1');

  // Redis not answering: 503 redis_unavailable (after the store's 2 s timeout).
  const redisPid = Number(readFileSync(path.join(s.runDir, 'redis.pid'), 'utf8'));
  process.kill(redisPid, 'SIGSTOP');
  let unavailable;
  try {
    unavailable = await call(s, 'GET', '/health');
  } finally {
    process.kill(redisPid, 'SIGCONT');
  }
  expectError(unavailable, 503, 'redis_unavailable');
  const deadline = Date.now() + 10000;
  while ((await call(s, 'GET', '/health')).status !== 200) {
    assert.ok(Date.now() < deadline, 'the store came back');
    await sleep(100);
  }
  noEventFailures();
});

test('access and moderation (issue 16): settings, passwords, bans, mute, demote, rename, chat delete', async () => {
  const s = main; // X-Forwarded-For is ignored here: every client is 127.0.0.1
  const hostXff = '198.51.100.40', guestXff = '198.51.100.41';
  const created = await call(s, 'POST', '/api/rooms', { body: { hostName: 'Mod' }, xff: hostXff });
  const { roomId, token } = created.json;
  const base = `/api/rooms/${roomId}`;
  const ws = await openWs(s, `${base}/events?ticket=${await ticket(s, roomId, token, hostXff)}`, { 'x-forwarded-for': hostXff });

  // settings
  expectError(await call(s, 'PATCH', `${base}/settings`, { body: { locked: 'yes' }, token, xff: hostXff }), 400, 'invalid_field', 'locked');
  expectError(await call(s, 'PATCH', `${base}/settings`, { body: { password: 'abc' }, token, xff: hostXff }), 400, 'invalid_field', 'password');
  expectError(await call(s, 'PATCH', `${base}/settings`, { body: { hasPassword: true }, token, xff: hostXff }), 400, 'unknown_field', 'hasPassword');
  assert.equal((await call(s, 'PATCH', `${base}/settings`, { body: { locked: true, password: 'pass word', waitForAll: false }, token, xff: hostXff })).status, 200);
  await ws.next('room.settings');
  assert.deepEqual((await call(s, 'GET', base, { xff: guestXff })).json, { id: roomId, exists: true, userCount: 1, hasVideo: false, locked: true, hasPassword: true });
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Bob' }, xff: guestXff }), 403, 'room_locked', null);
  assert.equal((await call(s, 'PATCH', `${base}/settings`, { body: { locked: false, guestsCanControl: true, guestsCanChangeVideo: false }, token, xff: hostXff })).status, 200);
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Bob' }, xff: guestXff }), 401, 'password_required', 'password');
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Bob', password: 'wrong one' }, xff: guestXff }), 403, 'wrong_password', 'password');
  const bob = (await call(s, 'POST', `${base}/join`, { body: { userName: 'Bob', password: 'pass word' }, xff: guestXff })).json;
  assert.ok(bob.token);
  assert.equal((await call(s, 'PATCH', `${base}/settings`, { body: { password: null }, token, xff: hostXff })).status, 200);
  expectError(await call(s, 'PATCH', `${base}/settings`, { body: { locked: true }, token: bob.token, xff: guestXff }), 403, 'not_host');

  // rename, chat delete, mute
  expectError(await call(s, 'PATCH', `${base}/users/me`, { body: { userName: 'mod' }, token: bob.token, xff: guestXff }), 409, 'name_taken', 'userName');
  expectError(await call(s, 'PATCH', `${base}/users/me`, { body: {}, token: bob.token, xff: guestXff }), 400, 'missing_field', 'userName');
  assert.equal((await call(s, 'PATCH', `${base}/users/me`, { body: { userName: 'Robert' }, token: bob.token, xff: guestXff })).status, 200);
  await ws.next('user.renamed');
  const posted = await call(s, 'POST', `${base}/chat`, { body: { text: 'oops' }, token: bob.token, xff: guestXff });
  expectError(await call(s, 'DELETE', `${base}/chat/0`, { token, xff: hostXff }), 400, 'invalid_field', 'messageId');
  expectError(await call(s, 'DELETE', `${base}/chat/99999`, { token, xff: hostXff }), 404, 'message_not_found');
  assert.equal((await call(s, 'DELETE', `${base}/chat/${posted.json.message.id}`, { token, xff: hostXff })).status, 204);
  await ws.next('chat.deleted');
  expectError(await call(s, 'POST', `${base}/users/${created.json.userId}/mute`, { body: { muted: true }, token, xff: hostXff }), 409, 'target_is_host');
  expectError(await call(s, 'POST', `${base}/users/${bob.userId}/mute`, { body: { muted: true, minutes: 0 }, token, xff: hostXff }), 400, 'invalid_field', 'minutes');
  expectError(await call(s, 'POST', `${base}/users/${bob.userId}/mute`, { body: { minutes: 5 }, token, xff: hostXff }), 400, 'missing_field', 'muted');
  assert.equal((await call(s, 'POST', `${base}/users/${bob.userId}/mute`, { body: { muted: true, minutes: 5 }, token, xff: hostXff })).status, 200);
  await ws.next('user.muted');
  assert.equal((await call(s, 'GET', base, { token, xff: hostXff })).status, 200);
  expectError(await call(s, 'POST', `${base}/chat`, { body: { text: 'hi' }, token: bob.token, xff: guestXff }), 403, 'muted');
  expectError(await call(s, 'POST', `${base}/typing`, { body: { typing: true }, token: bob.token, xff: guestXff }), 403, 'muted');

  // demote, kick with a ban, the ban list
  expectError(await call(s, 'POST', `${base}/users/${created.json.userId}/demote`, { token, xff: hostXff }), 409, 'last_host');
  assert.equal((await call(s, 'POST', `${base}/users/${bob.userId}/promote`, { token, xff: hostXff })).status, 204);
  assert.equal((await call(s, 'POST', `${base}/users/${bob.userId}/demote`, { token, xff: hostXff })).status, 204);
  await ws.next('user.demoted');
  expectError(await call(s, 'POST', `${base}/users/${bob.userId}/kick`, { body: { ban: 'yes' }, token, xff: hostXff }), 400, 'invalid_field', 'ban');
  assert.equal((await call(s, 'POST', `${base}/users/${bob.userId}/kick`, { body: { ban: true }, token, xff: hostXff })).status, 204);
  expectError(await call(s, 'POST', `${base}/join`, { body: { userName: 'Bobby' }, xff: guestXff }), 403, 'banned', null);
  const ws2 = await openWs(s, `${base}/events?ticket=${await ticket(s, roomId, token, hostXff)}`, { 'x-forwarded-for': hostXff });
  const bans = await call(s, 'GET', `${base}/bans`, { token, xff: hostXff });
  assert.equal(bans.json.bans.length, 1);
  expectError(await call(s, 'GET', '/api/rooms/abc/bans', { token, xff: hostXff }), 400, 'invalid_room_id', 'roomId');
  expectError(await call(s, 'DELETE', `${base}/bans/x1`, { token, xff: hostXff }), 400, 'invalid_field', 'banId');
  expectError(await call(s, 'DELETE', `${base}/bans/77`, { token, xff: hostXff }), 404, 'ban_not_found');
  assert.equal((await call(s, 'DELETE', `${base}/bans/${bans.json.bans[0].id}`, { token, xff: hostXff })).status, 204);
  assert.equal((await call(s, 'POST', `${base}/join`, { body: { userName: 'Bobby' }, xff: guestXff })).status, 201);
  ws.ws.terminate();
  ws2.ws.terminate();
  noEventFailures();
});

test('every operation was exercised and every event type seen', (t) => {
  const ops = [];
  for (const [p, item] of Object.entries(spec.paths)) for (const m of METHODS) if (item[m]) ops.push(`${m.toUpperCase()} ${p}`);
  const covered = [...stats.covered];
  for (const op of ops) assert.ok(covered.some((k) => k.startsWith(`${op} `)), `no response of ${op} was validated`);
  assert.deepEqual(Object.keys(stats.byType).sort(), [...specEventTypes()].sort(), 'every event type seen');
  noEventFailures();
  t.diagnostic(`${stats.responses} responses validated (${stats.covered.size} distinct operation/status pairs), ` +
    `${stats.requests} request bodies checked against the server's verdict, ${stats.events} events validated: ` +
    Object.entries(stats.byType).sort().map(([k, v]) => `${k} ${v}`).join(', '));
});
