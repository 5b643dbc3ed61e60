// Room access and moderation (issue 16): settings, locked rooms, passwords and their attempt
// limit, guest permissions, demote, mute, kick with a ban by address, the ban list, deleting
// chat messages, renaming. The stack trusts 127.0.0.1 as a proxy, so each test speaks from
// client addresses of its own through X-Forwarded-For (as a TLS proxy would send them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { api, subscribeWs } from '../lib/client.mjs';
import { settled, snapshot } from '../lib/room.mjs';

let stack, plain;
before(async () => {
  stack = await startStack({ env: { WNC_TRUSTED_PROXIES: '127.0.0.1' } });
  plain = api(stack.url);
});
after(async () => { await stack?.stop(); });

let nextAddr = 10;
// A client at its own address (a fresh one unless given): req(method, path, body, token).
function client(addr = `198.51.100.${nextAddr++}`) {
  const req = (method, path, body, token, headers = {}) =>
    plain(method, path, body, token, { 'x-forwarded-for': addr, ...headers });
  req.addr = addr;
  return req;
}

const OFF = { locked: false, hasPassword: false, guestsCanControl: false, guestsCanChangeVideo: false, waitForAll: false };

// A room with a host and guests, each joining from an address of its own.
async function room(guestNames = ['Bob']) {
  const hostReq = client();
  const created = await hostReq('POST', '/api/rooms', { hostName: 'Alice' });
  assert.equal(created.status, 201, created.text);
  const roomId = created.json.roomId;
  const host = { req: hostReq, userId: created.json.userId, token: created.json.token };
  const guests = [];
  for (const userName of guestNames) guests.push(await joinAs(roomId, userName));
  return { roomId, host, guests, base: `/api/rooms/${roomId}` };
}

async function joinAs(roomId, userName, req = client(), extra = {}) {
  const res = await req('POST', `/api/rooms/${roomId}/join`, { userName, ...extra });
  assert.equal(res.status, 201, res.text);
  return { req, userId: res.json.userId, token: res.json.token, name: userName };
}

function assertError(res, status, code, field) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.error?.code, code, res.text);
  if (field !== undefined) assert.equal(res.json.error.field, field, res.text);
}

const patch = (r, body, who = r.host) => who.req('PATCH', `${r.base}/settings`, body, who.token);

test('settings: all off by default, in the member state and the public summary', async () => {
  const r = await room();
  const state = await snapshot(plain, r.roomId, r.host.token);
  assert.deepEqual(state.room.settings, OFF);
  const guestState = await snapshot(plain, r.roomId, r.guests[0].token);
  assert.deepEqual(guestState.room.settings, OFF);
  const pub = await plain('GET', r.base);
  assert.equal(pub.json.locked, false);
  assert.equal(pub.json.hasPassword, false);
  assert.equal(pub.json.settings, undefined, 'the public summary has no settings object');
});

test('PATCH settings: a host changes any subset; room.settings goes to everyone', async () => {
  const r = await room();
  const ws = await subscribeWs(stack.port, r.roomId, r.guests[0].token);
  const res = await patch(r, { locked: true, guestsCanControl: true });
  assert.equal(res.status, 200, res.text);
  const want = { ...OFF, locked: true, guestsCanControl: true };
  assert.deepEqual(res.json, { settings: want });
  const ev = await ws.next('room.settings');
  assert.deepEqual(ev.data, { settings: want });
  assert.equal(ev.seq, (await snapshot(plain, r.roomId, r.host.token)).room.seq);

  const more = await patch(r, { guestsCanChangeVideo: true, waitForAll: true, locked: false });
  assert.deepEqual(more.json.settings, { ...OFF, guestsCanControl: true, guestsCanChangeVideo: true, waitForAll: true });
  assert.deepEqual((await ws.next('room.settings')).data.settings, more.json.settings);
  const empty = await patch(r, {});
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json.settings, more.json.settings, 'an empty subset changes nothing');
  assert.deepEqual((await snapshot(plain, r.roomId, r.guests[0].token)).room.settings, more.json.settings);
  ws.terminate();
});

test('PATCH settings: guests, bad input and other rooms change nothing', async () => {
  const r = await room();
  const other = await room([]);
  const before = await snapshot(plain, r.roomId, r.host.token);
  assertError(await patch(r, { locked: true }, r.guests[0]), 403, 'not_host');
  assertError(await patch(r, { password: 'guest-pass' }, r.guests[0]), 403, 'not_host');
  assertError(await r.host.req('PATCH', `${r.base}/settings`, { locked: true }), 401, 'unauthorized');
  assertError(await r.host.req('PATCH', `${r.base}/settings`, { locked: true }, other.host.token), 403, 'forbidden');
  const hostile = [
    [{ locked: 'yes' }, 'invalid_field', 'locked'],
    [{ locked: 1 }, 'invalid_field', 'locked'],
    [{ guestsCanControl: null, locked: [] }, 'invalid_field', 'locked'],
    [{ password: 1234 }, 'invalid_field', 'password'],
    [{ password: 'abc' }, 'invalid_field', 'password'],
    [{ password: 'x'.repeat(65) }, 'invalid_field', 'password'],
    [{ password: 'tab\there' }, 'invalid_field', 'password'],
    [{ password: true }, 'invalid_field', 'password'],
    [{ locked: true, admin: true }, 'unknown_field', 'admin'],
    [{ locked: true, hasPassword: true }, 'unknown_field', 'hasPassword'],
  ];
  for (const [body, code, field] of hostile) {
    assertError(await patch(r, body), 400, code, field);
  }
  assertError(await r.host.req('PATCH', `${r.base}/settings`, '[true]', r.host.token), 400, 'invalid_json');
  assertError(await r.host.req('PATCH', `${r.base}/settings`, null, r.host.token), 400, 'invalid_json');
  assertError(await r.host.req('PATCH', `${r.base}/settings`, 'locked=1', r.host.token, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  assert.deepEqual(await snapshot(plain, r.roomId, r.host.token), before, 'nothing changed');
  // 64 characters (not bytes) is the longest password.
  assert.equal((await patch(r, { password: 'é'.repeat(64) })).status, 200);
});

test('a locked room refuses joins (403 room_locked); members rejoin with their token', async () => {
  const r = await room();
  await patch(r, { locked: true });
  assert.equal((await plain('GET', r.base)).json.locked, true);
  const before = await snapshot(plain, r.roomId, r.host.token);
  assertError(await client()('POST', `${r.base}/join`, { userName: 'Carol' }), 403, 'room_locked');
  const rejoin = await r.guests[0].req('POST', `${r.base}/join`, {}, r.guests[0].token);
  assert.equal(rejoin.status, 200, rejoin.text);
  assert.deepEqual(await snapshot(plain, r.roomId, r.host.token), before);
  await patch(r, { locked: false });
  await joinAs(r.roomId, 'Carol');
});

test('a password: required, checked, never sent; removing it opens the room', async () => {
  const r = await room([]);
  const ws = await subscribeWs(stack.port, r.roomId, r.host.token);
  const set = await patch(r, { password: 'open sesame' });
  assert.equal(set.status, 200);
  assert.equal(set.json.settings.hasPassword, true);
  const ev = await ws.next('room.settings');
  assert.equal(ev.data.settings.hasPassword, true);
  assert.equal((await plain('GET', r.base)).json.hasPassword, true);

  const carol = client();
  assertError(await carol('POST', `${r.base}/join`, { userName: 'Carol' }), 401, 'password_required', 'password');
  assertError(await carol('POST', `${r.base}/join`, { userName: 'Carol', password: 'open sesamE' }), 403, 'wrong_password', 'password');
  assertError(await carol('POST', `${r.base}/join`, { userName: 'Carol', password: 42 }), 400, 'invalid_field', 'password');
  const joined = await carol('POST', `${r.base}/join`, { userName: 'Carol', password: 'open sesame' });
  assert.equal(joined.status, 201, joined.text);
  const state = await snapshot(plain, r.roomId, r.host.token);
  for (const text of [JSON.stringify(state), joined.text, JSON.stringify(ev), set.text]) {
    assert.ok(!text.includes('sesame') && !text.includes('argon2'), 'no password or hash in answers or events');
  }
  // A new password replaces the old one.
  await patch(r, { password: 'second one' });
  assertError(await client()('POST', `${r.base}/join`, { userName: 'Dan', password: 'open sesame' }), 403, 'wrong_password');
  await joinAs(r.roomId, 'Dan', client(), { password: 'second one' });
  // null removes it.
  const removed = await patch(r, { password: null });
  assert.equal(removed.json.settings.hasPassword, false);
  await joinAs(r.roomId, 'Erin');
  // A password sent to a room without one is ignored.
  await joinAs(r.roomId, 'Fay', client(), { password: 'whatever' });
  ws.terminate();
});

test('password attempts: 5 wrong per room and address per 10 minutes, then 429 before any check', async () => {
  const r = await room([]);
  await patch(r, { password: 'right pass' });
  const mallory = client();
  for (let i = 0; i < 5; i++) {
    assertError(await mallory('POST', `${r.base}/join`, { userName: 'Mallory', password: `guess ${i}` }), 403, 'wrong_password');
  }
  const limited = await mallory('POST', `${r.base}/join`, { userName: 'Mallory', password: 'guess 6' });
  assertError(limited, 429, 'rate_limited', null);
  const after = Number(limited.headers.get('retry-after'));
  assert.ok(after > 590 && after <= 600, `Retry-After ${after}`);
  // The right password too: the limit applies before the hash is checked.
  assertError(await mallory('POST', `${r.base}/join`, { userName: 'Mallory', password: 'right pass' }), 429, 'rate_limited');
  // Another address, and the same address in another room, are unaffected.
  await joinAs(r.roomId, 'Grace', client(), { password: 'right pass' });
  const r2 = await room([]);
  await patch(r2, { password: 'right pass' });
  await joinAs(r2.roomId, 'Mallory', mallory, { password: 'right pass' });
  // Right passwords do not count: ten joins from one address.
  const office = client();
  for (let i = 0; i < 10; i++) await joinAs(r.roomId, `Office ${i}`, office, { password: 'right pass' });
  // An IPv6 client counts by its /64.
  const v6 = ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:ffff::3'];
  for (let i = 0; i < 5; i++) {
    assertError(await client(v6[i % 3])('POST', `${r.base}/join`, { userName: 'Six', password: `nope ${i}` }), 403, 'wrong_password');
  }
  assertError(await client('2001:db8:5:6::9')('POST', `${r.base}/join`, { userName: 'Six', password: 'nope' }), 429, 'rate_limited');
  await joinAs(r.roomId, 'Seven', client('2001:db8:5:7::1'), { password: 'right pass' });
});

test('parallel wrong passwords from one address: at most 5 are checked', async () => {
  const r = await room([]);
  await patch(r, { password: 'right pass' });
  const mallory = client();
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    mallory('POST', `${r.base}/join`, { userName: `M${i}x`, password: `guess ${i}` })));
  const statuses = results.map((x) => x.status).sort();
  assert.deepEqual(statuses, [...Array(5).fill(403), ...Array(7).fill(429)]);
});

test('permissions: guests control playback or set the video only when a host allows it', async () => {
  const r = await room();
  const bob = r.guests[0];
  const put = (who) => who.req('PUT', `${r.base}/video`, { url: 'https://example.com/a.mp4' }, who.token);
  const play = (who) => who.req('POST', `${r.base}/video/play`, { position: 3 }, who.token);
  assertError(await put(bob), 403, 'not_host');
  assert.equal((await put(r.host)).status, 200);
  for (const [op, body] of [['play', { position: 3 }], ['pause', { position: 3 }], ['seek', { position: 4 }], ['rate', { rate: 2 }]]) {
    assertError(await bob.req('POST', `${r.base}/video/${op}`, body, bob.token), 403, 'not_host');
  }
  await patch(r, { guestsCanControl: true });
  for (const [op, body] of [['play', { position: 3 }], ['pause', { position: 3 }], ['seek', { position: 4 }], ['rate', { rate: 2 }]]) {
    assert.equal((await bob.req('POST', `${r.base}/video/${op}`, body, bob.token)).status, 200, op);
  }
  assertError(await put(bob), 403, 'not_host', undefined);
  await patch(r, { guestsCanChangeVideo: true, guestsCanControl: false });
  assert.equal((await put(bob)).status, 200);
  assertError(await play(bob), 403, 'not_host');
  await patch(r, { guestsCanChangeVideo: false });
  assertError(await put(bob), 403, 'not_host');
});

test('demote: hosts take the role back; the room keeps a host (409 last_host)', async () => {
  const r = await room(['Bob', 'Carol']);
  const [bob, carol] = r.guests;
  const ws = await subscribeWs(stack.port, r.roomId, carol.token);
  const demote = (who, target) => who.req('POST', `${r.base}/users/${target.userId}/demote`, undefined, who.token);
  assertError(await demote(r.host, r.host), 409, 'last_host');
  assertError(await demote(bob, r.host), 403, 'not_host');
  assert.equal((await demote(r.host, bob)).status, 204, 'a guest: nothing to do');
  assert.equal((await r.host.req('POST', `${r.base}/users/${bob.userId}/promote`, undefined, r.host.token)).status, 204);
  assert.equal((await demote(bob, r.host)).status, 204, 'a host demotes another');
  const ev = await ws.next('user.demoted');
  assert.deepEqual(ev.data, { userId: r.host.userId });
  const users = (await snapshot(plain, r.roomId, bob.token)).room.users;
  assert.deepEqual(users.filter((u) => u.isHost).map((u) => u.id), [bob.userId]);
  assertError(await demote(bob, bob), 409, 'last_host');
  assertError(await demote(r.host, bob), 403, 'not_host');
  assertError(await bob.req('POST', `${r.base}/users/00000000-0000-4000-8000-000000000000/demote`, undefined, bob.token), 404, 'user_not_found');
  assertError(await bob.req('POST', `${r.base}/users/nope/demote`, undefined, bob.token), 400, 'invalid_user_id');
  assertError(await bob.req('POST', `${r.base}/users/${carol.userId}/demote`, { ban: true }, bob.token), 400, 'unknown_field');
  ws.terminate();
});

test('mute: chat and typing answer 403 muted; minutes end it by themselves; hosts cannot be muted', async () => {
  const r = await room(['Bob', 'Carol']);
  const [bob, carol] = r.guests;
  const ws = await subscribeWs(stack.port, r.roomId, carol.token);
  const mute = (body, target = bob, who = r.host) => who.req('POST', `${r.base}/users/${target.userId}/mute`, body, who.token);
  const chat = (who) => who.req('POST', `${r.base}/chat`, { text: 'hello' }, who.token);
  await settled(plain, r.roomId, r.host.token); // Carol's presence batch is out (seq below)
  const before = await snapshot(plain, r.roomId, r.host.token);
  for (const [body, code, field] of [
    [{}, 'missing_field', 'muted'], [{ muted: 'yes' }, 'invalid_field', 'muted'], [{ muted: true, minutes: 0 }, 'invalid_field', 'minutes'],
    [{ muted: true, minutes: 1441 }, 'invalid_field', 'minutes'], [{ muted: true, minutes: 1.5 }, 'invalid_field', 'minutes'],
    [{ muted: true, minutes: '5' }, 'invalid_field', 'minutes'], [{ muted: true, minutes: 1e300 }, 'invalid_field', 'minutes'],
    [{ muted: true, until: 5 }, 'unknown_field', 'until'],
  ]) assertError(await mute(body), 400, code, field);
  assertError(await mute({ muted: true }, carol, bob), 403, 'not_host');
  assertError(await mute({ muted: true }, r.host), 409, 'target_is_host');
  assert.deepEqual(await snapshot(plain, r.roomId, r.host.token), before, 'nothing changed');

  const res = await mute({ muted: true });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { userId: bob.userId, muted: true, until: null });
  assert.deepEqual((await ws.next('user.muted')).data, res.json);
  assertError(await chat(bob), 403, 'muted');
  assertError(await bob.req('POST', `${r.base}/typing`, { typing: true }, bob.token), 403, 'muted');
  assert.equal((await chat(carol)).status, 201, 'others chat on');
  const seen = (await snapshot(plain, r.roomId, carol.token)).room.users.find((u) => u.id === bob.userId);
  assert.equal(seen.muted, true);
  assert.equal(seen.mutedUntil, null);

  const t0 = Date.now();
  const timed = await mute({ muted: true, minutes: 5 });
  assert.ok(timed.json.until >= t0 + 5 * 60000 - 1000 && timed.json.until <= Date.now() + 5 * 60000 + 1000);
  assert.equal((await mute({ muted: false })).json.muted, false);
  assert.equal((await chat(bob)).status, 201);
  const unmuted = (await snapshot(plain, r.roomId, carol.token)).room.users.find((u) => u.id === bob.userId);
  assert.equal(unmuted.muted, undefined);
  // Promotion lifts a mute.
  await mute({ muted: true });
  await r.host.req('POST', `${r.base}/users/${bob.userId}/promote`, undefined, r.host.token);
  assert.equal((await chat(bob)).status, 201);
  ws.terminate();
});

test('kick with a ban: the address cannot rejoin (IPv6: its /64) until the ban is lifted; the list never shows it', async () => {
  const bobAddr = client('2001:db8:aa:bb::10');
  const r = await room([]);
  const bob = await joinAs(r.roomId, 'Bob', bobAddr);
  const carol = await joinAs(r.roomId, 'Carol');
  const bobWs = await subscribeWs(stack.port, r.roomId, bob.token);
  const carolWs = await subscribeWs(stack.port, r.roomId, carol.token);
  const kick = (body, target = bob, who = r.host) => who.req('POST', `${r.base}/users/${target.userId}/kick`, body, who.token);
  for (const [body, code, field] of [[{ ban: 'yes' }, 'invalid_field', 'ban'], [{ ban: 1 }, 'invalid_field', 'ban'], [{ ban: true, why: 'x' }, 'unknown_field', 'why']]) {
    assertError(await kick(body), 400, code, field);
  }
  assertError(await kick({ ban: true }, r.host, carol), 403, 'not_host');
  assertError(await carol.req('GET', `${r.base}/bans`, undefined, carol.token), 403, 'not_host');
  assert.equal((await snapshot(plain, r.roomId, r.host.token)).room.users.length, 3, 'nothing changed');

  assert.equal((await kick({ ban: true })).status, 204);
  const left = await carolWs.next('user.left');
  assert.deepEqual(left.data, { userId: bob.userId, reason: 'kicked' });
  await bobWs.closedPromise;
  assertError(await bob.req('GET', r.base, undefined, bob.token), 401, 'unauthorized');
  // The same /64 under another address, and a fresh name: still banned.
  assertError(await client('2001:db8:aa:bb:1:2:3:4')('POST', `${r.base}/join`, { userName: 'Robert' }), 403, 'banned');
  assertError(await bobAddr('POST', `${r.base}/join`, { userName: 'Bob' }), 403, 'banned');
  await joinAs(r.roomId, 'Neighbour', client('2001:db8:aa:bc::10'));
  // Another room is open to the address.
  const r2 = await room([]);
  await joinAs(r2.roomId, 'Bob', bobAddr);

  const list = await r.host.req('GET', `${r.base}/bans`, undefined, r.host.token);
  assert.equal(list.status, 200);
  assert.equal(list.json.bans.length, 1);
  const [ban] = list.json.bans;
  assert.deepEqual(Object.keys(ban).sort(), ['createdAt', 'id', 'name']);
  assert.equal(ban.name, 'Bob');
  assert.ok(!list.text.includes('2001:db8'), 'no address in the list');

  // Lifting: host only, the right room, a real ban.
  assertError(await carol.req('DELETE', `${r.base}/bans/${ban.id}`, undefined, carol.token), 403, 'not_host');
  assertError(await r2.host.req('DELETE', `${r2.base}/bans/${ban.id}`, undefined, r2.host.token), 404, 'ban_not_found');
  for (const bad of ['0', '-1', 'abc', '1.5', '01', '9'.repeat(16)]) {
    assertError(await r.host.req('DELETE', `${r.base}/bans/${bad}`, undefined, r.host.token), 400, 'invalid_field', 'banId');
  }
  assert.equal((await r.host.req('DELETE', `${r.base}/bans/${ban.id}`, undefined, r.host.token)).status, 204);
  assertError(await r.host.req('DELETE', `${r.base}/bans/${ban.id}`, undefined, r.host.token), 404, 'ban_not_found');
  assert.deepEqual((await r.host.req('GET', `${r.base}/bans`, undefined, r.host.token)).json, { bans: [] });
  await joinAs(r.roomId, 'Bob', bobAddr);
  carolWs.terminate();
});

test('a plain kick bans nobody', async () => {
  const r = await room(['Bob']);
  const [bob] = r.guests;
  assert.equal((await r.host.req('POST', `${r.base}/users/${bob.userId}/kick`, undefined, r.host.token)).status, 204);
  await joinAs(r.roomId, 'Bob', bob.req);
  assert.deepEqual((await r.host.req('GET', `${r.base}/bans`, undefined, r.host.token)).json, { bans: [] });
});

test('delete a chat message: members their own, hosts any; chat.deleted; gone from history', async () => {
  const r = await room(['Bob', 'Carol']);
  const [bob, carol] = r.guests;
  const ws = await subscribeWs(stack.port, r.roomId, carol.token);
  const post = async (who, text) => (await who.req('POST', `${r.base}/chat`, { text }, who.token)).json.message;
  const del = (who, id) => who.req('DELETE', `${r.base}/chat/${id}`, undefined, who.token);
  const m1 = await post(bob, 'mine');
  const m2 = await post(carol, 'hers');
  const m3 = await post(r.host, 'the host');
  assertError(await del(bob, m2.id), 403, 'not_host');
  assertError(await del(bob, m3.id), 403, 'not_host');
  assertError(await del(bob, 999999), 404, 'message_not_found');
  for (const bad of ['0', 'x', '1e3', '-4', '01']) assertError(await del(bob, bad), 400, 'invalid_field', 'messageId');
  const other = await room([]);
  assertError(await other.host.req('DELETE', `${r.base}/chat/${m1.id}`, undefined, other.host.token), 403, 'forbidden');
  assertError(await bob.req('DELETE', `${r.base}/chat/${m1.id}`), 401, 'unauthorized');
  assert.equal((await snapshot(plain, r.roomId, bob.token)).chat.length, 3, 'nothing deleted yet');

  assert.equal((await del(bob, m1.id)).status, 204);
  assert.deepEqual((await ws.next('chat.deleted')).data, { id: m1.id });
  assert.equal((await del(r.host, m2.id)).status, 204);
  assert.deepEqual((await ws.next('chat.deleted')).data, { id: m2.id });
  assertError(await del(r.host, m2.id), 404, 'message_not_found');
  const history = await bob.req('GET', `${r.base}/chat`, undefined, bob.token);
  assert.deepEqual(history.json.messages.map((m) => m.id), [m3.id]);
  ws.terminate();
});

test('rename yourself: user.renamed, the same rules and uniqueness as a join', async () => {
  const r = await room(['Bob']);
  const [bob] = r.guests;
  const ws = await subscribeWs(stack.port, r.roomId, r.host.token);
  const rename = (userName, who = bob) => who.req('PATCH', `${r.base}/users/me`, { userName }, who.token);
  // The host's presence batch is out before the state compared below (it moves seq).
  await settled(plain, r.roomId, r.host.token);
  const before = await snapshot(plain, r.roomId, r.host.token);
  assertError(await rename('alice'), 409, 'name_taken', 'userName');
  for (const bad of ['A', 'x'.repeat(51), 'Bo<b>', 42, null]) {
    const res = await rename(bad);
    assert.equal(res.status, 400, `${bad}: ${res.text}`);
  }
  assertError(await bob.req('PATCH', `${r.base}/users/me`, { userName: 'Bobby', isHost: true }, bob.token), 400, 'unknown_field', 'isHost');
  assertError(await bob.req('PATCH', `${r.base}/users/me`, { userName: 'Bobby' }), 401, 'unauthorized');
  assert.deepEqual(await snapshot(plain, r.roomId, r.host.token), before, 'nothing changed');

  const res = await rename('  Robert  ');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.user.name, 'Robert');
  assert.deepEqual((await ws.next('user.renamed')).data, { userId: bob.userId, userName: 'Robert' });
  assert.equal((await rename('ROBERT')).status, 200, 'its own name in another case');
  // The old name is free again, the new one taken.
  await joinAs(r.roomId, 'Bob');
  assertError(await client()('POST', `${r.base}/join`, { userName: 'robert' }), 409, 'name_taken');
  ws.terminate();
});
