// Streams nchan forgets to report closed (docs/nchan-notes.md): nchan 1.3.6 runs the subscribe
// hook of a stream closed during that hook but never its unsubscribe hook, which left the
// member online and the stream's lease and place under the per-address cap held until the
// nginx worker exited. pushd now checks a room's leases against the subscribers nchan answers
// for (sql/verify.lua, the /info/ location) after every open, and closes a lease missing from
// every check for 6 s. Here: many streams opened and aborted at once, over both transports and
// both subscription paths, leave nothing held within the bound, and their members are removed
// after the grace period, while live streams keep their leases through every check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startStack } from '../lib/stack.mjs';
import { api, openWs, readEventStream, waitFor } from '../lib/client.mjs';
import { makeRoom } from '../lib/room.mjs';

const GRACE_MS = 2000;
// Checks 2 s apart (SCRIPT_VERIFY_MS), each waiting at most 0.5 s for nchan, the first 2 s
// after the last open; a lease missing from every check for 6 s closes: a lease without a
// stream goes within about 9 s; 14 s is the bound the repair promises.
const HEAL_BOUND_MS = 14000;
const ABORTS_PER_KIND = 8;

let s, req;
before(async () => {
  s = await startStack({ env: { WNC_GRACE_MS: String(GRACE_MS), WNC_MAX_SUBS_PER_IP: '200' } });
  req = api(s.url);
});
after(async () => { await s?.stop(); });

const cli = (...args) => execFileSync('redis-cli', ['-p', String(s.redisPort), '--raw', ...args], { encoding: 'utf8' }).trim();
const leases = (roomId) => {
  const flat = cli('HGETALL', `leases:{${roomId}}`).split('\n').filter(Boolean);
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
};
const placesHeld = () => Number(cli('ZCOUNT', 'subs:{127.0.0.1}', '+inf', '+inf'));

// The four ways a stream opens: X-Accel-Redirect (/events) or nchan's authorize request
// (/events/{channel}), each over WebSocket or EventSource; the member's Bearer token.
const kinds = ['ws-accel', 'sse-accel', 'ws-authorize', 'sse-authorize'];
function streamUrl(kind, roomId, member, scheme) {
  const base = `${scheme}://127.0.0.1:${s.port}/api/rooms/${roomId}/events`;
  return kind.endsWith('accel') ? base : `${base}/${roomId}-1?user=${member.userId}`;
}

// Opens a stream that stays; resolves once nchan delivers on it.
async function live(kind, roomId, member) {
  const auth = { authorization: `Bearer ${member.token}` };
  if (kind.startsWith('ws')) return openWs(streamUrl(kind, roomId, member, 'ws'), auth);
  const controller = new AbortController();
  const res = await fetch(streamUrl(kind, roomId, member, 'http'),
    { headers: { accept: 'text/event-stream', ...auth }, signal: controller.signal });
  assert.equal(res.status, 200);
  const events = [];
  readEventStream(res.body, (d) => events.push(JSON.parse(d)));
  return { events, close: () => controller.abort() };
}

// Opens a stream and drops it the moment it is open: the first instants nchan mishandles.
async function openAndAbort(kind, roomId, member) {
  const auth = { authorization: `Bearer ${member.token}` };
  if (kind.startsWith('ws')) {
    const ws = await openWs(streamUrl(kind, roomId, member, 'ws'), auth);
    ws.terminate();
    return;
  }
  const controller = new AbortController();
  const res = await fetch(streamUrl(kind, roomId, member, 'http'),
    { headers: { accept: 'text/event-stream', ...auth }, signal: controller.signal });
  assert.equal(res.status, 200);
  controller.abort();
}

test('streams aborted as they open leave no lease, place or member online behind; live streams keep theirs', async (t) => {
  const { roomId, host, guests } = await makeRoom(req, 'Alice', ['Bob', 'Carol', 'Dave', 'Erin']);
  // Alice holds one live stream of each kind for the whole test.
  const alice = {};
  for (const kind of kinds) alice[kind] = await live(kind, roomId, host);
  await waitFor(() => Object.keys(leases(roomId)).length === kinds.length, 5000, 'Alice\'s four streams leased');
  const aliceLeases = leases(roomId);

  // Each guest opens and aborts streams of one kind, all four at once.
  await Promise.all(kinds.map(async (kind, i) => {
    for (let n = 0; n < ABORTS_PER_KIND; n++) await openAndAbort(kind, roomId, guests[i]);
  }));
  const aborted = Date.now();
  // What nchan left behind (the hooks that come have come by then; pushd's first check is due
  // 2 s after the first open): reported, not asserted, since the loss is a race.
  await new Promise((r) => setTimeout(r, 1000));
  const leftBehind = Object.keys(leases(roomId)).length - kinds.length;

  // Within the bound only Alice's leases and places remain, and nobody else is online.
  await waitFor(() => {
    const now = leases(roomId);
    return Object.keys(now).length === kinds.length && placesHeld() === kinds.length;
  }, HEAL_BOUND_MS, 'every aborted stream\'s lease and place released');
  assert.deepEqual(leases(roomId), aliceLeases);
  const healedMs = Date.now() - aborted;
  assert.ok(healedMs <= HEAL_BOUND_MS, `healed in ${healedMs} ms`);
  t.diagnostic(`${leftBehind} of ${kinds.length * ABORTS_PER_KIND} aborted streams kept a lease 1 s after the last abort; all released ${healedMs} ms after it`);

  // The guests go offline and, after the grace period, are removed; Alice stays.
  await waitFor(async () => {
    const users = (await req('GET', `/api/rooms/${roomId}`, null, host.token)).json.room.users;
    return users.length === 1 && users[0].name === 'Alice' && users[0].online;
  }, GRACE_MS + HEAL_BOUND_MS, 'the guests removed after their grace period');

  // Every check since left Alice's streams alone, and they still deliver.
  await waitFor(() => cli('ZSCORE', 'timers:verify', roomId) === '' && cli('HEXISTS', `room:{${roomId}}`, 'verifySuspects') === '0',
    HEAL_BOUND_MS, 'no check pending');
  assert.deepEqual(leases(roomId), aliceLeases);
  assert.equal((await req('POST', `/api/rooms/${roomId}/chat`, { text: 'still here' }, host.token)).status, 201);
  for (const kind of kinds) {
    const stream = alice[kind];
    if (kind.startsWith('ws')) assert.equal((await stream.next('chat.message')).data.message.text, 'still here');
    else await waitFor(() => stream.events.some((e) => e.type === 'chat.message'), 3000, `the chat on ${kind}`);
  }
  for (const kind of kinds) (alice[kind].terminate ?? alice[kind].close)();
});

test('live streams survive repeated checks: a room whose members stay connected loses no lease', async () => {
  const { roomId, host, guests: [bob, carol] } = await makeRoom(req, 'Alice', ['Bob', 'Carol']);
  const streams = [];
  for (const [i, kind] of kinds.entries()) streams.push(await live(kind, roomId, [host, bob, carol][i % 3]));
  await waitFor(() => Object.keys(leases(roomId)).length === kinds.length, 5000, 'four streams leased');
  const held = leases(roomId);
  // Several rounds of checks: each round opens (and aborts) a stream, which asks for a check.
  for (let round = 0; round < 3; round++) {
    await openAndAbort(kinds[round % kinds.length], roomId, carol);
    await waitFor(() => cli('ZSCORE', 'timers:verify', roomId) === '' &&
      cli('HEXISTS', `room:{${roomId}}`, 'verifySuspects') === '0' &&
      Object.keys(leases(roomId)).length === kinds.length, HEAL_BOUND_MS, `round ${round}'s checks done`);
    assert.deepEqual(leases(roomId), held);
  }
  const users = (await req('GET', `/api/rooms/${roomId}`, null, host.token)).json.room.users;
  assert.deepEqual(users.map((u) => [u.name, u.online]), [['Alice', true], ['Bob', true], ['Carol', true]]);
  for (const st of streams) (st.terminate ?? st.close)();
});
