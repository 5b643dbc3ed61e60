// Subscriptions through nchan_authorize_request (issue 13): GET /api/rooms/{id}/events/{channel}
// with ?ticket= or a Bearer header and ?user=. The same guarantees as the X-Accel-Redirect path
// (realtime-hostile.test.mjs): single-use tickets, the credential's own member only, resume ids
// and tokens in URLs refused, the per-address cap atomic, a kick closes the member's streams
// and keeps it out, presence (the authorizer opens the lease, the unsubscribe hook closes it);
// and a worker pool that is gone or stopped costs a 503, never an nginx worker (nchan 1.3.6
// crashes on a synchronous authorize failure).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { poolDown, startStack } from '../lib/stack.mjs';
import { api, openWs, readEventStream, sleep, waitFor } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';

let s, req;
before(async () => {
  s = await startStack({ env: { WNC_GRACE_MS: '30000', WNC_MAX_SUBS_PER_IP: '4', WNC_WORKERS: '2' } });
  req = api(s.url);
});
after(async () => { await s?.stop(); });

const cli = (...args) => execFileSync('redis-cli', ['-p', String(s.redisPort), '--raw', ...args], { encoding: 'utf8' }).trim();
const masterPid = () => Number(readFileSync(path.join(s.runDir, 'nginx.pid'), 'utf8'));
const workerPids = () => execFileSync('pgrep', ['-P', String(masterPid())], { encoding: 'utf8' })
  .trim().split('\n').map(Number).sort();

// POST .../events/ticket: {ticket, expiresAt, channel}.
async function ticket(roomId, token) {
  const res = await req('POST', `/api/rooms/${roomId}/events/ticket`, null, token);
  assert.equal(res.status, 201, res.text);
  return res.json;
}

const wsUrl = (roomId, channel, query) => `ws://127.0.0.1:${s.port}/api/rooms/${roomId}/events/${channel}?${query}`;

// A WebSocket subscription the way browsers make it now: a ticket that names the channel.
async function subscribe(roomId, member) {
  const t = await ticket(roomId, member.token);
  return openWs(wsUrl(roomId, t.channel, `ticket=${encodeURIComponent(t.ticket)}&user=${member.userId}`));
}

// An EventSource-style GET: {status, json, headers} for a refusal, or the open stream.
async function sse(roomId, channel, query, headers = {}) {
  const controller = new AbortController();
  const res = await fetch(`${s.url}/api/rooms/${roomId}/events/${channel}?${query}`,
    { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status === 200) {
    const events = [];
    readEventStream(res.body, (d) => events.push(JSON.parse(d)));
    return { status: 200, headers: res.headers, events, close: () => controller.abort() };
  }
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

const online = async (roomId, token) => Object.fromEntries(((r) => { if (!r.json?.room) throw new Error(`state: ${r.status} ${r.text}`); return r; })(await req("GET", `/api/rooms/${roomId}`, null, token))
  .json.room.users.map((u) => [u.name, u.online]));

test('tickets and join answers name the channel; WebSocket, EventSource and Bearer streams deliver, with presence', async () => {
  const { roomId, host, guests: [bob, carol] } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
  const joined = await req('POST', `/api/rooms/${roomId}/join`, { userName: 'Dave' });
  assert.equal(joined.json.channel, `${roomId}-1`);
  const t = await ticket(roomId, host.token);
  assert.equal(t.channel, `${roomId}-1`);

  const alice = await openWs(wsUrl(roomId, t.channel, `ticket=${t.ticket}&user=${host.userId}`));
  const bobWs = await openWs(wsUrl(roomId, t.channel, `user=${bob.userId}`), { authorization: `Bearer ${bob.token}` });
  await alice.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && e.data.online);
  const tc = await ticket(roomId, carol.token);
  const carolSse = await sse(roomId, tc.channel, `ticket=${tc.ticket}&user=${carol.userId}`);
  assert.equal(carolSse.status, 200);
  assert.equal(carolSse.headers.get('cache-control'), 'no-store');
  assert.match(carolSse.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  await alice.next((e) => e.type === 'user.presence' && e.data.userId === carol.userId && e.data.online);
  assert.deepEqual(await online(roomId, host.token), { Alice: true, Bob: true, Carol: true, Dave: false });

  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'hello' }, host.token)).status, 201);
  assert.equal((await bobWs.next('chat.message')).data.message.text, 'hello');
  await waitFor(() => carolSse.events.some((e) => e.type === 'chat.message'), 3000, 'the chat over SSE');

  // The hooks close what they opened: the member goes offline when its last stream closes.
  bobWs.terminate();
  await alice.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId && !e.data.online);
  carolSse.close();
  await alice.next((e) => e.type === 'user.presence' && e.data.userId === carol.userId && !e.data.online);
  alice.terminate();
});

test('refusals: used ticket, another member, no user, old channel, resume ids, token in URL, no credential; nothing changes', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const channel = `${roomId}-1`;
  const t = await ticket(roomId, bob.token);
  const first = await sse(roomId, channel, `ticket=${t.ticket}&user=${bob.userId}`);
  assert.equal(first.status, 200);
  // Close only once the stream is counted, so that the state compared below is settled (a
  // stream closed before nchan subscribed it gets no unsubscribe hook from nchan 1.3.6; pushd's
  // check of the leases closes its lease, but only seconds later: presence-heal.test.mjs).
  await waitFor(async () => (await online(roomId, host.token)).Bob, 3000, 'Bob online');
  first.close();
  // Bob offline, and announced (presence changes can wait for their batch: lib.lua).
  await waitFor(async () => !(await online(roomId, host.token)).Bob &&
    cli('HEXISTS', `room:{${roomId}}`, 'presencePending') === '0', 3000, 'Bob offline');
  const before = (await req('GET', `/api/rooms/${roomId}`, null, host.token)).json.room;

  const bearer = { authorization: `Bearer ${bob.token}` };
  // A fresh ticket of Bob's for each attempt (a refused attempt still uses its ticket up).
  const bobTicket = async () => (await ticket(roomId, bob.token)).ticket;
  const cases = [
    ['a used ticket', channel, `ticket=${t.ticket}&user=${bob.userId}`, {}, 401, 'unauthorized'],
    ['a ticket of another member', channel, async () => `ticket=${await bobTicket()}&user=${host.userId}`, {}, 403, 'forbidden'],
    ['a token of another member', channel, `user=${host.userId}`, bearer, 403, 'forbidden'],
    ['no user', channel, '', bearer, 400, 'invalid_field'],
    ['an encoded user', channel, `user=${encodeURIComponent(bob.userId).replace('-', '%2D')}`, bearer, 400, 'invalid_field'],
    ['a channel that is not the room\'s', `${roomId}-7`, `user=${bob.userId}`, bearer, 409, 'channel_moved'],
    ['a channel of another room', 'ZZZZZZ-1', `user=${bob.userId}`, bearer, 400, 'invalid_field'],
    ['Last-Event-ID', channel, `user=${bob.userId}`, { ...bearer, 'last-event-id': '1796000000:0' }, 400, 'resume_not_supported'],
    ['If-None-Match', channel, `user=${bob.userId}`, { ...bearer, 'if-none-match': '0', 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }, 400, 'resume_not_supported'],
    ['last_event_id', channel, `user=${bob.userId}&last_event_id=1796000000%3A0`, bearer, 400, 'resume_not_supported'],
    ['a token in the URL', channel, `user=${bob.userId}&token=${bob.token}`, {}, 400, 'token_in_url'],
    ['no credential', channel, `user=${bob.userId}`, {}, 401, 'unauthorized'],
    ['a token of another room', channel, `user=${bob.userId}`, { authorization: 'Bearer ABCDEF.x' }, 401, 'unauthorized'],
  ];
  const pids = workerPids();
  for (const [what, ch, q, headers, status, code] of cases) {
    const query = typeof q === 'function' ? await q() : q;
    const r = await sse(roomId, ch, query, headers);
    assert.equal(r.status, status, what);
    assert.equal(r.json?.error?.code, code, what);
    assert.equal(r.json.error.requestId, r.headers.get('x-request-id'), `${what}: the client's request id`);
    await assert.rejects(openWs(wsUrl(roomId, ch, typeof q === 'function' ? await q() : query), headers),
      (e) => e.status === status, `${what} (WebSocket)`);
  }
  // A plain GET is not a stream: nchan refuses it before asking anyone.
  assert.equal((await fetch(`${s.url}/api/rooms/${roomId}/events/${channel}?user=${bob.userId}`, { headers: bearer })).status, 403);
  assert.deepEqual((await req('GET', `/api/rooms/${roomId}`, null, host.token)).json.room, before, 'nothing changed');
  assert.deepEqual(workerPids(), pids, 'no nginx worker died');
});

test('the per-address cap holds for parallel handshakes and frees places when streams close', async () => {
  const { roomId, host } = await makeRoom(req, 'Alice');
  const tickets = await Promise.all(Array.from({ length: 10 }, () => ticket(roomId, host.token)));
  const tries = await Promise.allSettled(tickets.map((t) => openWs(wsUrl(roomId, t.channel, `ticket=${t.ticket}&user=${host.userId}`))));
  const open = tries.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  assert.equal(open.length, 4, 'exactly the cap (4) opened');
  for (const r of tries.filter((x) => x.status === 'rejected')) assert.equal(r.reason.status, 429);
  const refused = await sse(roomId, `${roomId}-1`, `user=${host.userId}`, { authorization: `Bearer ${host.token}` });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '5');
  // Every stream held (its subscribe hook done) before closing: its unsubscribe hook then gives
  // the place back at once (see the refusals test).
  await waitFor(() => cli('ZCOUNT', 'subs:{127.0.0.1}', '+inf', '+inf') === '4', 3000, 'four places held');
  for (const q of open) q.close();
  // The unsubscribe hooks release the places.
  await waitFor(async () => {
    try { (await subscribe(roomId, host)).terminate(); return true; } catch { return false; }
  }, 5000, 'a place under the cap again');
});

test('a kick closes the kicked member\'s stream and keeps it out; the others move to the new channel', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const alice = await subscribe(roomId, host);
  const bobWs = await subscribe(roomId, bob);
  // Both subscribe hooks have run: a channel closed while a stream's hooks are still on their
  // way can lose one (nchan drops it with the subscriber), which this test is not about.
  await waitFor(() => cli('HLEN', `leases:{${roomId}}`) === '2', 3000, 'both streams leased');
  const old = `${roomId}-1`;
  assert.equal((await req('POST', `/api/rooms/${roomId}/users/${bob.userId}/kick`, null, host.token)).status, 204);
  await waitFor(() => bobWs.closed, 3000, 'Bob\'s stream closed');
  // Bob has no credential left; Alice's old channel is gone, the ticket names the new one.
  assert.equal((await req('POST', `/api/rooms/${roomId}/events/ticket`, null, bob.token)).status, 401);
  const stale = await sse(roomId, old, `user=${host.userId}`, { authorization: `Bearer ${host.token}` });
  assert.equal(stale.status, 409);
  const t = await ticket(roomId, host.token);
  assert.notEqual(t.channel, old);
  const again = await openWs(wsUrl(roomId, t.channel, `ticket=${t.ticket}&user=${host.userId}`));
  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'after' }, host.token)).status, 201);
  assert.equal((await again.next('chat.message')).data.message.text, 'after');
  alice.terminate();
  again.terminate();
});

test('a worker pool that is gone or stopped costs a 503, not an nginx worker; no ticket reaches a log', async () => {
  // The earlier tests' streams have given their places back (their unsubscribe hooks ran, or
  // for a hook nchan dropped, pushd's check of the leases closed them: within about 5 s, 10 s
  // at most): this one needs all four.
  await waitFor(() => cli('ZCOUNT', 'subs:{127.0.0.1}', String(Date.now()), '+inf') === '0', 10000, 'no place held');
  const { roomId, host } = await makeRoom(req, 'Alice');
  const live = await subscribe(roomId, host);
  const pids = workerPids();
  const tickets = await Promise.all(Array.from({ length: 6 }, () => ticket(roomId, host.token)));
  // A pool that is gone (crashed, not yet restarted; its socket and nginx's kept connections
  // with it).
  const back = await poolDown(s, { noSocket: true });
  try {
    for (const t of tickets.slice(0, 3)) {
      const r = await sse(roomId, t.channel, `ticket=${t.ticket}&user=${host.userId}`);
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(r.json.error.code, 'overloaded');
    }
  } finally {
    await back();
  }
  // A stopped pool: the authorisations wait (nothing opens meanwhile), then go through. The pool
  // that came back must be the one stopped: the same pid before and after a request it answered.
  const pidNow = () => Number(readFileSync(path.join(s.runDir, 'fcgi.pid'), 'utf8'));
  let fcgiPid = 0;
  await waitFor(async () => {
    const before = pidNow();
    const ok = (await req('GET', '/api/time')).status === 200;
    await sleep(200);
    fcgiPid = pidNow();
    return ok && before === fcgiPid;
  }, 10000, 'a settled pool');
  process.kill(fcgiPid, 'SIGSTOP');
  let opened = 0;
  const waiting = tickets.slice(3).map((t) => openWs(wsUrl(roomId, t.channel, `ticket=${t.ticket}&user=${host.userId}`))
    .then((q) => { opened++; return q; }));
  try {
    await sleep(1500);
    assert.equal(opened, 0, 'no stream without its authorisation');
    assert.deepEqual(workerPids(), pids, 'no nginx worker died');
  } finally {
    process.kill(fcgiPid, 'SIGCONT');
  }
  for (const q of await Promise.all(waiting)) q.terminate();
  assert.deepEqual(workerPids(), pids, 'no nginx worker died');
  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'still here' }, host.token)).status, 201);
  assert.equal((await live.next('chat.message')).data.message.text, 'still here');
  live.terminate();
  const logs = readdirSync(path.join(s.runDir, 'logs')).map((f) => [f, readFileSync(path.join(s.runDir, 'logs', f), 'utf8')]);
  for (const [file, text] of logs) {
    for (const t of tickets) assert.ok(!text.includes(t.ticket.split('.')[1]), `a ticket in ${file}`);
    assert.ok(!text.includes(host.token.split('.')[1]), `a token in ${file}`);
  }
});
