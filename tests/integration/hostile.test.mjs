// Hostile input (issue 3): every row must get a 4xx JSON error with the expected code, and
// leave the room exactly as it was (state, seq, chat, members).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { api } from '../lib/client.mjs';
import { makeRoom, snapshot } from '../lib/room.mjs';

let stack, req, room, other;
before(async () => {
  stack = await startStack();
  req = api(stack.url);
  room = await makeRoom(req, 'Alice', ['Bob']);
  other = await makeRoom(req, 'Mallory');
  // A video so that control routes reach their validation.
  const v = await req('PUT', `/api/rooms/${room.roomId}/video`, { url: 'https://example.com/v.mp4' }, room.host.token);
  assert.equal(v.status, 200);
});
after(async () => { await stack?.stop(); });

const R = () => room.roomId;
const HOST = () => room.host.token;
const GUEST = () => room.guests[0].token;
const BOB = () => room.guests[0].userId;
const json = (o) => JSON.stringify(o);
const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

// [description, method, path, body (object | raw string | Buffer | undefined), token, status, code, field]
const rows = () => [
  ['create: no body', 'POST', '/api/rooms', undefined, null, 400, 'invalid_json'],
  ['create: empty object', 'POST', '/api/rooms', {}, null, 400, 'missing_field', 'hostName'],
  ['create: name is a number', 'POST', '/api/rooms', { hostName: 42 }, null, 400, 'invalid_field', 'hostName'],
  ['create: name is null', 'POST', '/api/rooms', { hostName: null }, null, 400, 'missing_field', 'hostName'],
  ['create: name is an array', 'POST', '/api/rooms', { hostName: ['Al'] }, null, 400, 'invalid_field', 'hostName'],
  ['create: name is an object', 'POST', '/api/rooms', { hostName: { a: 1 } }, null, 400, 'invalid_field', 'hostName'],
  ['create: empty name', 'POST', '/api/rooms', { hostName: '' }, null, 400, 'invalid_field', 'hostName'],
  ['create: blank name', 'POST', '/api/rooms', { hostName: '     ' }, null, 400, 'invalid_field', 'hostName'],
  ['create: one character', 'POST', '/api/rooms', { hostName: 'A' }, null, 400, 'invalid_field', 'hostName'],
  ['create: 51 characters', 'POST', '/api/rooms', { hostName: 'A'.repeat(51) }, null, 400, 'invalid_field', 'hostName'],
  ['create: HTML in name', 'POST', '/api/rooms', { hostName: '<img src=x onerror=alert(1)>' }, null, 400, 'invalid_field', 'hostName'],
  ['create: NUL in name', 'POST', '/api/rooms', { hostName: 'Al\u0000ice' }, null, 400, 'invalid_field', 'hostName'],
  ['create: non-ASCII name', 'POST', '/api/rooms', { hostName: 'Zoë' }, null, 400, 'invalid_field', 'hostName'],
  ['create: tab in name', 'POST', '/api/rooms', { hostName: 'Al\tice' }, null, 400, 'invalid_field', 'hostName'],
  ['create: unknown field', 'POST', '/api/rooms', { hostName: 'Alice', isHost: true }, null, 400, 'unknown_field', 'isHost'],
  ['create: not JSON', 'POST', '/api/rooms', 'hostName=Alice', null, 400, 'invalid_json'],
  ['create: trailing garbage', 'POST', '/api/rooms', '{"hostName":"Alice"}xyz', null, 400, 'invalid_json'],
  ['create: two objects', 'POST', '/api/rooms', '{"hostName":"Alice"}{"hostName":"Bob"}', null, 400, 'invalid_json'],
  ['create: array root', 'POST', '/api/rooms', '[{"hostName":"Alice"}]', null, 400, 'invalid_json'],
  ['create: string root', 'POST', '/api/rooms', '"Alice"', null, 400, 'invalid_json'],
  ['create: truncated JSON', 'POST', '/api/rooms', '{"hostName":"Al', null, 400, 'invalid_json'],
  ['create: single quotes', 'POST', '/api/rooms', "{'hostName':'Alice'}", null, 400, 'invalid_json'],
  ['create: comment in JSON', 'POST', '/api/rooms', '{"hostName":"Alice"/* hi */}', null, 400, 'invalid_json'],
  ['create: deep nesting', 'POST', '/api/rooms', '{"hostName":' + '['.repeat(100) + ']'.repeat(100) + '}', null, 400, 'invalid_json'],
  ['create: bad UTF-8 byte', 'POST', '/api/rooms', bytes('{"hostName":"Al', [0xff], 'ice"}'), null, 400, 'invalid_json'],
  ['create: overlong UTF-8', 'POST', '/api/rooms', bytes('{"hostName":"Al', [0xc0, 0xaf], 'ice"}'), null, 400, 'invalid_json'],
  ['create: UTF-8 surrogate', 'POST', '/api/rooms', bytes('{"hostName":"Al', [0xed, 0xa0, 0x80], 'ice"}'), null, 400, 'invalid_json'],
  ['create: text/plain', 'POST', '/api/rooms', { hostName: 'Alice' }, null, 415, 'unsupported_media_type', null, { 'content-type': 'text/plain' }],
  ['create: form encoded', 'POST', '/api/rooms', 'hostName=Alice', null, 415, 'unsupported_media_type', null, { 'content-type': 'application/x-www-form-urlencoded' }],
  ['create: body too large', 'POST', '/api/rooms', json({ hostName: 'Alice', pad: 'x'.repeat(17000) }), null, 413, 'body_too_large'],
  ['join: name taken', 'POST', () => `/api/rooms/${R()}/join`, { userName: 'ALICE' }, null, 409, 'name_taken', 'userName'],
  ['join: missing name', 'POST', () => `/api/rooms/${R()}/join`, {}, null, 400, 'missing_field', 'userName'],
  ['join: no body', 'POST', () => `/api/rooms/${R()}/join`, undefined, null, 400, 'missing_field', 'userName'],
  ['join: short room code', 'POST', '/api/rooms/ABC12/join', { userName: 'Eve' }, null, 400, 'invalid_room_id', 'roomId'],
  ['join: long room code', 'POST', '/api/rooms/ABC1234/join', { userName: 'Eve' }, null, 400, 'invalid_room_id', 'roomId'],
  ['join: punctuation in code', 'POST', '/api/rooms/AB-C12/join', { userName: 'Eve' }, null, 400, 'invalid_room_id', 'roomId'],
  ['join: encoded slash in code', 'POST', '/api/rooms/AB%2FC12/join', { userName: 'Eve' }, null, 404, 'not_found'],
  ['join: unknown room', 'POST', '/api/rooms/ZZZZZ9/join', { userName: 'Eve' }, null, 404, 'room_not_found'],
  ['chat: blank', 'POST', () => `/api/rooms/${R()}/chat`, { text: '   \n\t ' }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: Unicode blanks', 'POST', () => `/api/rooms/${R()}/chat`, { text: '\u00a0\u3000\ufeff\u2003' }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: empty', 'POST', () => `/api/rooms/${R()}/chat`, { text: '' }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: 1001 characters', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'é'.repeat(1001) }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: number', 'POST', () => `/api/rooms/${R()}/chat`, { text: 12 }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: boolean', 'POST', () => `/api/rooms/${R()}/chat`, { text: true }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: null', 'POST', () => `/api/rooms/${R()}/chat`, { text: null }, GUEST, 400, 'missing_field', 'text'],
  ['chat: control character', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'ding\u0007' }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: NUL', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'a\u0000b' }, GUEST, 400, 'invalid_field', 'text'],
  ['chat: lone surrogate escape', 'POST', () => `/api/rooms/${R()}/chat`, '{"text":"\\ud800"}', GUEST, 400, 'invalid_json'],
  ['chat: extra field', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'hi', userId: 'x' }, GUEST, 400, 'unknown_field', 'userId'],
  ['chat: no token', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'hi' }, null, 401, 'unauthorized'],
  ['chat: other room\'s token', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'hi' }, () => other.host.token, 403, 'forbidden'],
  ['chat: forged token', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'hi' }, () => `${R()}.${'x'.repeat(43)}`, 401, 'unauthorized'],
  ['chat: overlong token', 'POST', () => `/api/rooms/${R()}/chat`, { text: 'hi' }, () => GUEST() + 'A'.repeat(5000), 401, 'unauthorized'],
  ['typing: string', 'POST', () => `/api/rooms/${R()}/typing`, { typing: 'yes' }, GUEST, 400, 'invalid_field', 'typing'],
  ['typing: number', 'POST', () => `/api/rooms/${R()}/typing`, { typing: 1 }, GUEST, 400, 'invalid_field', 'typing'],
  ['typing: missing', 'POST', () => `/api/rooms/${R()}/typing`, {}, GUEST, 400, 'missing_field', 'typing'],
  ['video: guest sets', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'https://example.com/x.mp4' }, GUEST, 403, 'not_host'],
  ['video: guest plays', 'POST', () => `/api/rooms/${R()}/video/play`, { position: 1 }, GUEST, 403, 'not_host'],
  ['video: guest rate', 'POST', () => `/api/rooms/${R()}/video/rate`, { rate: 2 }, GUEST, 403, 'not_host'],
  ['video: javascript: URL', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'javascript:alert(1)' }, HOST, 400, 'invalid_field', 'url'],
  ['video: data: URL', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'data:video/mp4;base64,AAAA' }, HOST, 400, 'invalid_field', 'url'],
  ['video: ftp URL', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'ftp://example.com/a.mp4' }, HOST, 400, 'invalid_field', 'url'],
  ['video: no host', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'https:///a.mp4' }, HOST, 400, 'invalid_field', 'url'],
  ['video: spaces', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'https://example.com/a b.mp4' }, HOST, 400, 'invalid_field', 'url'],
  ['video: 2049 bytes', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'https://example.com/' + 'a'.repeat(2029) }, HOST, 400, 'invalid_field', 'url'],
  ['video: YouTube without id', 'PUT', () => `/api/rooms/${R()}/video`, { url: 'https://www.youtube.com/watch?list=abc' }, HOST, 400, 'invalid_field', 'url'],
  ['video: url is a number', 'PUT', () => `/api/rooms/${R()}/video`, { url: 5 }, HOST, 400, 'invalid_field', 'url'],
  ['video: negative position', 'POST', () => `/api/rooms/${R()}/video/play`, { position: -1 }, HOST, 400, 'invalid_field', 'position'],
  ['video: position as string', 'POST', () => `/api/rooms/${R()}/video/seek`, { position: '10' }, HOST, 400, 'invalid_field', 'position'],
  ['video: position 1e400', 'POST', () => `/api/rooms/${R()}/video/seek`, '{"position":1e400}', HOST, 400, null, 'position'],
  ['video: NaN literal', 'POST', () => `/api/rooms/${R()}/video/seek`, '{"position":NaN}', HOST, 400, 'invalid_json'],
  ['video: Infinity literal', 'POST', () => `/api/rooms/${R()}/video/pause`, '{"position":Infinity}', HOST, 400, 'invalid_json'],
  ['video: huge position', 'POST', () => `/api/rooms/${R()}/video/seek`, { position: 1e12 }, HOST, 400, 'invalid_field', 'position'],
  ['video: rate too low', 'POST', () => `/api/rooms/${R()}/video/rate`, { rate: 0.1 }, HOST, 400, 'invalid_field', 'rate'],
  ['video: rate too high', 'POST', () => `/api/rooms/${R()}/video/rate`, { rate: 4.5 }, HOST, 400, 'invalid_field', 'rate'],
  ['video: rate missing', 'POST', () => `/api/rooms/${R()}/video/rate`, {}, HOST, 400, 'missing_field', 'rate'],
  ['promote: not a UUID', 'POST', () => `/api/rooms/${R()}/users/not-a-uuid/promote`, undefined, HOST, 400, 'invalid_user_id', 'userId'],
  ['promote: unknown user', 'POST', () => `/api/rooms/${R()}/users/11111111-1111-4111-8111-111111111111/promote`, undefined, HOST, 404, 'user_not_found'],
  ['promote: other room\'s user', 'POST', () => `/api/rooms/${R()}/users/${other.host.userId}/promote`, undefined, HOST, 404, 'user_not_found'],
  ['promote: by a guest', 'POST', () => `/api/rooms/${R()}/users/${BOB()}/promote`, undefined, GUEST, 403, 'not_host'],
  ['kick: by a guest', 'POST', () => `/api/rooms/${R()}/users/${room.host.userId}/kick`, undefined, GUEST, 403, 'not_host'],
  ['kick: with other room\'s host token', 'POST', () => `/api/rooms/${R()}/users/${BOB()}/kick`, undefined, () => other.host.token, 403, 'forbidden'],
  ['leave: no token', 'POST', () => `/api/rooms/${R()}/leave`, undefined, null, 401, 'unauthorized'],
  ['events: no token', 'GET', () => `/api/rooms/${R()}/events`, undefined, null, 401, 'unauthorized'],
  ['events: other room\'s token', 'GET', () => `/api/rooms/${R()}/events`, undefined, () => other.host.token, 403, 'forbidden'],
  ['events: token in the URL', 'GET', () => `/api/rooms/${R()}/events?token=${HOST()}`, undefined, null, 400, 'token_in_url', 'token'],
  ['events: other room\'s token as a ticket', 'GET', () => `/api/rooms/${R()}/events?ticket=${other.host.token}`, undefined, null, 403, 'forbidden', 'ticket'],
  ['events: token as a ticket', 'GET', () => `/api/rooms/${R()}/events?ticket=${HOST()}`, undefined, null, 401, 'unauthorized'],
  ['events: malformed ticket', 'GET', () => `/api/rooms/${R()}/events?ticket=x`, undefined, null, 401, 'unauthorized', 'ticket'],
  ['ticket: no token', 'POST', () => `/api/rooms/${R()}/events/ticket`, undefined, null, 401, 'unauthorized'],
  ['ticket: other room\'s token', 'POST', () => `/api/rooms/${R()}/events/ticket`, undefined, () => other.host.token, 403, 'forbidden'],
  ['ticket: GET', 'GET', () => `/api/rooms/${R()}/events/ticket`, undefined, HOST, 405, 'method_not_allowed'],
  ['events: bad room code', 'GET', '/api/rooms/abc/events', undefined, null, 400, 'invalid_room_id'],
  ['route: unknown', 'GET', '/api/rooms/ABCDEF/secrets', undefined, null, 404, 'not_found'],
  ['route: wrong method', 'DELETE', () => `/api/rooms/${R()}`, undefined, HOST, 405, 'method_not_allowed'],
  ['route: path traversal', 'GET', '/api/rooms/../../etc/passwd', undefined, null, 404, null],
];

test('every hostile row gets its 4xx JSON error and changes nothing', async () => {
  const table = rows();
  assert.ok(table.length >= 50, `${table.length} rows`);
  const before = await snapshot(req, room.roomId, room.host.token);
  const beforeOther = await snapshot(req, other.roomId, other.host.token);
  const roomsBefore = await req('GET', `/api/rooms/${room.roomId}`);
  for (const [desc, method, p, body, token, status, code, field, headers] of table) {
    const pathStr = typeof p === 'function' ? p() : p;
    const tok = typeof token === 'function' ? token() : token;
    let payload = body;
    const h = { ...(headers || {}) };
    if (Buffer.isBuffer(body)) { payload = new Uint8Array(body); h['content-type'] ??= 'application/json'; }
    else if (typeof body === 'string') { h['content-type'] ??= 'application/json'; }
    const res = await req(method, pathStr, payload, tok, h);
    assert.equal(res.status, status, `${desc}: ${res.status} ${res.text}`);
    assert.ok(res.status >= 400 && res.status < 500, desc);
    if (code !== null || res.json) {
      assert.ok(res.json && res.json.error, `${desc}: JSON error shape, got ${res.text}`);
      if (code) assert.equal(res.json.error.code, code, `${desc}: ${res.text}`);
      if (field !== undefined && field !== null) assert.equal(res.json.error.field, field, desc);
      assert.equal(typeof res.json.error.message, 'string', desc);
    }
    for (const t of [room.host.token, room.guests[0].token, other.host.token]) {
      assert.ok(!res.text.includes(t.split('.')[1]), `${desc}: a token in an error`);
    }
  }
  assert.deepEqual(await snapshot(req, room.roomId, room.host.token), before);
  assert.deepEqual(await snapshot(req, other.roomId, other.host.token), beforeOther);
  assert.deepEqual((await req('GET', `/api/rooms/${room.roomId}`)).json, roomsBefore.json);
  const health = await req('GET', '/health');
  assert.equal(health.status, 200, 'the workers survived');
});
