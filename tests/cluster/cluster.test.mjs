// The scale-out shape (make test-cluster): 2 instances on a 3+3 Redis Cluster with nchan's Redis
// storage, behind the balancer (scripts/cluster.sh). One cluster for the file; the destructive
// tests run last: an instance killed, then a Redis failover (after a master's kill -9 nchan 1.3.6
// may stay degraded for a while, docs/scaling.md). Figures (failover times) are printed as
// '# ...' lines; the machine may be shared, so they are upper bounds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startCluster } from '../lib/cluster.mjs';
import { api, subscribeWs, ticketFor, untilLive, sleep, waitFor } from '../lib/client.mjs';
import { makeRoom, snapshot } from '../lib/room.mjs';
import { NON_ADVANCING } from '../../web/js/events.js';

// Longer than a Redis failover's outage (2.5-3 s here) and a reconnect after it: nchan may
// abort a worker during a failover, closing its streams, and with a 2 s grace pushd timed
// their members out before they could be back (a 401, then a 404; docs/scaling.md).
const GRACE_MS = 12000;
let c, bal, i1, i2;

before(async () => {
  c = await startCluster({ instances: 2, env: { WNC_GRACE_MS: String(GRACE_MS) } });
  bal = api(c.url);
  [i1, i2] = c.instancePorts;
});
after(async () => { await c?.stop(); });

const on = (port) => api(`http://127.0.0.1:${port}`);

const cli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args]).toString();

// The cluster's nodes from CLUSTER NODES on any live node: { port, id, master (bool),
// masterId, slots: [[from, to]...], failed }.
function clusterNodes() {
  for (const p of c.redisPorts) {
    let text;
    try { text = cli(p, 'CLUSTER', 'NODES'); } catch { continue; }
    return text.trim().split('\n').map((line) => {
      const f = line.split(' ');
      return {
        port: Number(f[1].split('@')[0].split(':').pop()), id: f[0],
        master: f[2].includes('master'), failed: f[2].includes('fail'), masterId: f[3],
        slots: f.slice(8).filter((s) => /^\d/.test(s)).map((s) => s.split('-').map(Number)),
      };
    });
  }
  throw new Error('no Redis node answers');
}

function masterOfRoom(roomId) {
  const slot = Number(cli(c.redisPorts[0], 'CLUSTER', 'KEYSLOT', `room:{${roomId}}`));
  const nodes = clusterNodes();
  const master = nodes.find((n) => n.master && !n.failed &&
    n.slots.some(([a, b = a]) => a <= slot && slot <= b));
  if (!master) return { slot, master: { port: 0 }, replica: null }; // between two views
  const replica = nodes.find((n) => !n.master && n.masterId === master.id && !n.failed);
  return { slot, master, replica };
}

// A fresh subscription of a member through an instance's port (or the balancer's), returned
// once it is live (tests/lib/client.mjs untilLive: nchan's Redis storage may miss what is
// published in the first milliseconds of a subscription, docs/scaling.md).
async function sub(port, roomId, member) {
  const q = await subscribeWs(port, roomId, member.token);
  await untilLive(`http://127.0.0.1:${port}`, roomId, member.token, q);
  return q;
}

test('REST through the balancer: requests spread over both instances', async () => {
  const { roomId, host } = await makeRoom(bal, 'Alice', ['Bob']);
  for (let i = 0; i < 6; i++) {
    assert.equal((await bal('POST', `/api/rooms/${roomId}/chat`, { text: `m${i}` }, host.token)).status, 201);
  }
  // Each instance's access log shows chat requests, from the address the balancer passed on.
  for (const i of [1, 2]) {
    await waitFor(() => {
      const log = readFileSync(path.join(c.runDir, String(i), 'logs/access.log'), 'utf8');
      return log.includes(`/api/rooms/${roomId}/chat`);
    }, 3000, `instance ${i} serving chat`);
  }
  const state = await snapshot(bal, roomId, host.token);
  assert.deepEqual(state.chat.map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
});

// GET /api/time through the balancer from a client address of our choice (127.0.0.x), with an
// X-Forwarded-For of the client's own; resolves with X-RateLimit-Remaining.
function timeFrom(localAddress, xff) {
  return new Promise((resolve, reject) => {
    const headers = xff ? { 'x-forwarded-for': xff } : {};
    http.get({ host: '127.0.0.1', port: c.port, path: '/api/time', localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(res.headers['x-ratelimit-remaining'])));
    }).on('error', reject);
  });
}

test('the per-IP limit counts the client the balancer names, once across both instances', async () => {
  // 127.0.0.2 is a client, not a listed proxy: its own X-Forwarded-For is not believed, and its
  // requests, spread round-robin over the instances, count down one Redis counter.
  const seen = [];
  for (let i = 0; i < 6; i++) seen.push(await timeFrom('127.0.0.2', i % 2 ? '203.0.113.9' : undefined));
  for (let i = 1; i < seen.length; i++) assert.equal(seen[i], seen[i - 1] - 1, `remaining ${seen}`);
  // Another client has a counter of its own.
  const other = await timeFrom('127.0.0.3');
  assert.ok(other > seen.at(-1), `127.0.0.3 shares 127.0.0.2's counter: ${other} vs ${seen}`);
});

test('members on different instances get each other\'s chat and the host\'s actions, each once, seq without gaps', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(bal, 'Alice', ['Bob']);
  const hostWs = await sub(i1, roomId, host);
  const bobWs = await sub(i2, roomId, bob);
  await waitFor(async () => (await snapshot(bal, roomId, host.token)).room.users
    .every((u) => u.online), 3000, 'both online');
  const from = (await snapshot(bal, roomId, host.token)).room.seq;
  assert.equal((await on(i1)('PUT', `/api/rooms/${roomId}/video`, { url: 'https://example.com/a.mp4' }, host.token)).status, 200);
  const acks = [];
  for (let i = 0; i < 10; i++) {
    // Alternately through each instance, each member on the other one's instance.
    const r = i % 2 === 0
      ? await on(i2)('POST', `/api/rooms/${roomId}/chat`, { text: `bob ${i}` }, bob.token)
      : await on(i1)('POST', `/api/rooms/${roomId}/video/seek`, { position: i }, host.token);
    assert.ok(r.status === 200 || r.status === 201, r.text);
    acks.push(r);
  }
  const acted = (e) => ['video.set', 'chat.message', 'video.seek'].includes(e.type);
  for (const [who, q] of [['host', hostWs], ['bob', bobWs]]) {
    // Every event with a seq counts: a coalesced user.presence or user.joined may come among
    // the actions (pushd's flush), and takes a seq of its own. A batch is queued once per member
    // (tests/lib/client.mjs): one frame per seq. Each instance (and pushd) publishes its own
    // events: two published at nearly the same time may arrive swapped, and the client puts
    // them back in seq order (its reorder wait, docs/sync.md). What must hold: every event
    // once, and no gap once sorted; a gap that is not filled within 5 s fails the test. Typing,
    // beacons and reactions carry the room's seq without advancing it: not counted.
    const got = [];
    const gapless = () => {
      const seqs = got.map((e) => e.seq);
      return Math.max(...seqs) - Math.min(...seqs) === seqs.length - 1;
    };
    while (got.filter(acted).length < 11 || !gapless()) {
      const e = await q.next((x) => x.seq > from && !NON_ADVANCING.has(x.type) && x.type !== 'heartbeat', 5000)
        .catch(() => assert.fail(`${who}: a gap in ${got.map((x) => x.seq).sort((a, b) => a - b)}`));
      if (e.batch > 1 && got.some((p) => p.seq === e.seq && p.batch)) continue;
      assert.ok(!got.some((p) => p.seq === e.seq), `${who}: seq ${e.seq} twice: ${JSON.stringify(got.filter((p) => p.seq === e.seq))} and ${JSON.stringify(e)}`);
      got.push(e);
    }
    const seqs = got.map((e) => e.seq);
    const swapped = seqs.filter((x, k) => k > 0 && x < seqs[k - 1]).length;
    console.log(`# cross-instance: ${who} received ${swapped} of ${seqs.length} events before an earlier one`);
    const actions = got.filter(acted).sort((a, b) => a.seq - b.seq);
    assert.equal(actions[0].type, 'video.set');
    assert.equal(actions.filter((e) => e.type === 'chat.message').length, 5);
    assert.equal(actions.filter((e) => e.type === 'video.seek').length, 5);
  }
  hostWs.terminate(); bobWs.terminate();
});

test('four members chatting at once through both instances: every stream receives every chat', async () => {
  // Publishes from both instances interleave on the channel: with a one-message buffer nchan's
  // Redis storage dropped 0.4-1.3 % of them on some worker (a worker that falls behind fetches
  // the message it missed from the buffer, and it was gone); hence the /pub location's buffer
  // of 16 on this shape (scripts/render-nginx.sh).
  const { roomId, host, guests } = await makeRoom(bal, 'Alice', ['Bob', 'Carol', 'Dan']);
  const members = [host, ...guests];
  const streams = [];
  for (const [k, m] of members.entries()) streams.push(await sub(k % 2 ? i2 : i1, roomId, m));
  const acked = [];
  await Promise.all(members.map(async (m, k) => {
    for (let i = 0; i < 75; i++) {
      const text = `m${k} ${i}`;
      const r = await on(i % 2 ? i1 : i2)('POST', `/api/rooms/${roomId}/chat`, { text }, m.token);
      assert.equal(r.status, 201, r.text);
      acked.push(text);
    }
  }));
  const texts = (q) => new Set(q.events.filter((e) => e.type === 'chat.message').map((e) => e.data.message.text));
  await waitFor(() => streams.every((q) => texts(q).size >= acked.length), 5000, 'every chat on every stream')
    .catch(() => {});
  for (const [k, q] of streams.entries()) {
    const missed = acked.filter((t) => !texts(q).has(t));
    assert.deepEqual(missed, [], `stream ${k} (instance ${k % 2 ? 2 : 1}) missed ${missed.length} of ${acked.length}`);
    q.terminate();
  }
});

test('presence hooks on another instance; a kick on one instance closes the member\'s stream on the other', async () => {
  const { roomId, host, guests: [bob, carol] } = await makeRoom(bal, 'Alice', ['Bob', 'Carol']);
  const hostWs = await sub(i1, roomId, host);
  const carolWs = await sub(i1, roomId, carol);
  const bobWs = await sub(i2, roomId, bob);
  const online = await hostWs.next((e) => e.type === 'user.presence' && e.data.userId === bob.userId);
  assert.equal(online.data.online, true);
  const t0 = Date.now();
  assert.equal((await on(i1)('POST', `/api/rooms/${roomId}/users/${bob.userId}/kick`, null, host.token)).status, 204);
  await waitFor(() => bobWs.closed, 3000, 'the kicked member\'s stream (instance 2) closed');
  console.log(`# kick across instances: stream closed ${Date.now() - t0} ms after the kick`);
  // The room moved to a new channel and the old one closed for everybody: the others reconnect
  // (through any instance) and resync from the state, as the page does; the kicked member
  // cannot, and receives nothing more. (user.left usually arrives on the old channel before it
  // closes; with the Redis storage it was missed once in a few runs, which the resync covers.)
  await waitFor(() => hostWs.closed && carolWs.closed, 3000, 'the old channel closed for the others');
  const left = hostWs.events.find((e) => e.type === 'user.left');
  console.log(`# kick across instances: user.left on the host's old stream: ${left ? 'yes' : 'no'}`);
  if (left) assert.deepEqual(left.data, { userId: bob.userId, reason: 'kicked' });
  const users = (await snapshot(bal, roomId, host.token)).room.users.map((u) => u.id);
  assert.deepEqual(users.sort(), [host.userId, carol.userId].sort());
  const hostWs2 = await sub(i2, roomId, host);
  const carolWs2 = await sub(c.port, roomId, carol);
  assert.equal((await bal('POST', `/api/rooms/${roomId}/chat`, { text: 'after' }, host.token)).status, 201);
  assert.equal((await hostWs2.next('chat.message')).data.message.text, 'after');
  assert.equal((await carolWs2.next('chat.message')).data.message.text, 'after');
  assert.ok(!bobWs.events.some((e) => e.type === 'chat.message'));
  await assert.rejects(ticketFor(c.url, roomId, bob.token), (e) => e.status === 401);
  hostWs2.terminate(); carolWs2.terminate();
});

test('two pushd over one cluster: a grace timeout fires exactly once (one user.left)', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(bal, 'Alice', ['Bob']);
  // The host listens on both instances: each stream must see the timeout's user.left once.
  const hostWs = [await sub(i1, roomId, host), await sub(i2, roomId, host)];
  const bobWs = await sub(i2, roomId, bob);
  const t0 = Date.now();
  bobWs.terminate();
  await waitFor(async () => (await snapshot(bal, roomId, host.token)).room.users.length === 1,
    GRACE_MS + 5000, 'Bob removed after the grace');
  console.log(`# grace timeout: Bob removed ${Date.now() - t0} ms after the drop (grace ${GRACE_MS} ms)`);
  await sleep(3000); // a second firing would come within pushd's next claims (about 1 s)
  const lefts = hostWs.map((q) => q.events.filter((e) => e.type === 'user.left'));
  for (const l of lefts) assert.ok(l.length <= 1, `a stream saw ${l.length} user.left`);
  assert.ok(lefts.some((l) => l.length === 1), 'no stream saw the user.left');
  for (const l of lefts) if (l.length) assert.deepEqual(l[0].data, { userId: bob.userId, reason: 'timeout' });
  console.log(`# grace timeout: user.left seen by ${lefts.filter((l) => l.length).length} of 2 host streams`);
  const users = (await snapshot(bal, roomId, host.token)).room.users;
  assert.deepEqual(users.map((u) => u.id), [host.userId]);
  for (const q of hostWs) q.terminate();
});

// Posts chat through the balancer every 50 ms until stop(); returns the acknowledged texts and
// the longest stretch without an acknowledgement.
function chatter(roomId, token, prefix) {
  const acked = [];
  let running = true, lastOk = Date.now(), worstGap = 0, n = 0;
  const done = (async () => {
    while (running) {
      const text = `${prefix} ${n++}`;
      const r = await bal('POST', `/api/rooms/${roomId}/chat`, { text }, token).catch(() => ({ status: 0 }));
      if (r.status === 201) {
        acked.push(text);
        worstGap = Math.max(worstGap, Date.now() - lastOk);
        lastOk = Date.now();
      }
      await sleep(50);
    }
  })();
  return { acked, stop: async () => { running = false; await done; return worstGap; } };
}

test('kill -9 of one instance\'s nginx: its clients reconnect through the balancer and resync; nothing acknowledged is lost', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(bal, 'Alice', ['Bob']);
  const bobWs = await sub(i2, roomId, bob);
  const talk = chatter(roomId, host.token, 'inst');
  await sleep(400);
  // The whole nginx: its master and its workers (a worker outlives a killed master).
  const pid = Number(readFileSync(path.join(c.runDir, '2', 'nginx.pid'), 'utf8'));
  const workers = execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').map(Number);
  for (const p of [pid, ...workers]) process.kill(p, 'SIGKILL');
  await waitFor(() => bobWs.closed, 5000, 'the stream on the dead instance closed');
  // Reconnect as the page does: a ticket and a subscription through the balancer (which now
  // finds instance 1 only), then the state.
  let bobWs2;
  await waitFor(async () => {
    try { bobWs2 = await sub(c.port, roomId, bob); return true; } catch { return false; }
  }, 10000, 'a new subscription through the balancer');
  await sleep(600);
  const gap = await talk.stop();
  console.log(`# instance killed: longest gap between acknowledged chats ${gap} ms`);
  const state = await snapshot(bal, roomId, bob.token);
  const chat = state.chat.map((m) => m.text);
  assert.deepEqual(chat, talk.acked.slice(-chat.length), 'acknowledged chat lost');
  // Live again: a chat posted now reaches the new stream (the first milliseconds of a
  // subscription on nchan's Redis storage may miss one, see docs/scaling.md: post until one
  // arrives, then every later one must).
  let live = null;
  for (let i = 0; !live && i < 20; i++) {
    assert.equal((await bal('POST', `/api/rooms/${roomId}/chat`, { text: `live ${i}` }, host.token)).status, 201);
    live = await bobWs2.next((e) => e.type === 'chat.message' && e.data.message.text.startsWith('live'), 250).catch(() => null);
  }
  assert.ok(live && live.seq > state.room.seq, 'no live event on the new stream');
  for (let i = 0; i < 3; i++) {
    assert.equal((await bal('POST', `/api/rooms/${roomId}/chat`, { text: `then ${i}` }, host.token)).status, 201);
    assert.equal((await bobWs2.next((e) => e.type === 'chat.message' && e.data.message.text.startsWith('then'), 5000)).data.message.text, `then ${i}`);
  }
  bobWs2.terminate();
});

// A member's stream kept as the page keeps it: when it closes, a new one through the balancer,
// tried again for up to 30 s whatever the failure (nchan's 503s, the balancer's 502 while
// instance 1's worker restarts). current streams: k.q; stop() reports a reconnect that failed.
function keepSubscribed(roomId, member, first) {
  const k = { q: first, reconnects: 0, stopped: false, error: null };
  k.done = (async () => {
    while (!k.stopped) {
      await k.q.closedPromise;
      if (k.stopped) return;
      k.reconnects++;
      const deadline = Date.now() + 30000;
      for (;;) {
        const q = await sub(c.port, roomId, member).catch((e) => { k.error = e; return null; });
        if (q) { k.q = q; k.error = null; break; }
        if (k.stopped || Date.now() > deadline) return;
        await sleep(200);
      }
    }
  })();
  k.stop = async () => {
    k.stopped = true;
    k.q.terminate();
    await k.done;
    if (k.error) throw new Error(`a stream did not come back: ${k.error.message}`);
  };
  return k;
}

test('Redis master failover (CLUSTER FAILOVER, then kill -9 of a master): service back in bounded time, no acknowledged chat lost', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(bal, 'Alice', ['Bob']);
  // Instance 2 is gone by now: the balancer finds instance 1.
  const hostKept = keepSubscribed(roomId, host, await sub(c.port, roomId, host));
  const bobKept = keepSubscribed(roomId, bob, await sub(c.port, roomId, bob));
  const before = masterOfRoom(roomId);
  const allAcked = [];

  // 1. Manual failover: the replica takes over with the master's agreement; nothing is lost.
  let talk = chatter(roomId, host.token, 'manual');
  await sleep(300);
  cli(before.replica.port, 'CLUSTER', 'FAILOVER');
  await waitFor(() => masterOfRoom(roomId).master.port === before.replica.port, 10000, 'the replica promoted');
  const atPromotion = talk.acked.length;
  await waitFor(() => talk.acked.length >= atPromotion + 10, 10000, 'chat acknowledged after the promotion');
  let gap = await talk.stop();
  console.log(`# manual failover: longest gap between acknowledged chats ${gap} ms`);
  assert.ok(gap < 5000, `service back within 5 s (gap ${gap} ms)`);
  // Redis keeps the last 20 messages: every acknowledged one among them, in order.
  let chat = (await snapshot(bal, roomId, host.token)).chat.map((m) => m.text);
  assert.deepEqual(chat, talk.acked.slice(-chat.length), 'acknowledged chat lost or reordered');
  allAcked.push(...talk.acked);

  // 2. kill -9 of the new master: its replica (the old master) takes over after the node
  // timeout; requests in between may fail (503), the service comes back.
  const victim = masterOfRoom(roomId);
  const pid = Number(cli(victim.master.port, 'INFO', 'server').match(/process_id:(\d+)/)[1]);
  talk = chatter(roomId, host.token, 'kill');
  await sleep(300);
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  let backAt = null;
  await waitFor(() => ![0, victim.master.port].includes(masterOfRoom(roomId).master.port),
    20000, 'a new master');
  console.log(`# kill -9 of a master: its replica promoted ${Date.now() - t0} ms after the kill`);
  const count = talk.acked.length;
  await waitFor(() => talk.acked.length > count + 2, 20000, 'chat acknowledged again');
  backAt = Date.now();
  gap = await talk.stop();
  console.log(`# kill -9 of a master: service back ${backAt - t0} ms after the kill at most; longest gap ${gap} ms`);
  assert.ok(gap < 15000, `service back within 15 s (gap ${gap} ms)`);
  // Atomicity: seq counts every event once; the chat is a suffix of what was acknowledged
  // (an asynchronous replica may lose the last writes before a kill: at most those).
  const state = await snapshot(bal, roomId, host.token);
  chat = state.chat.map((m) => m.text);
  allAcked.push(...talk.acked);
  const at = chat.map((t) => allAcked.indexOf(t));
  assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])), `chat not a subsequence of the acknowledged: ${chat}`);
  const lost = allAcked.slice(at[0]).filter((t) => !chat.includes(t));
  console.log(`# kill -9 of a master: acknowledged chats lost (asynchronous replication): ${lost.length}`);
  assert.equal(new Set(state.chat.map((m) => m.id)).size, state.chat.length);
  // Events flow to subscribers again once nchan has reconnected to the new master: until then
  // it answers a new subscription 503 (the page retries); measured here.
  const resubscribe = async (member) => {
    let q = null;
    await waitFor(async () => {
      // nchan's 503s, or the balancer's 502 while a worker restarts (see keepSubscribed).
      q = await sub(c.port, roomId, member).catch(() => null);
      return q !== null;
    }, 30000, 'nchan accepting subscriptions again');
    return q;
  };
  const t1 = Date.now();
  const fresh = await resubscribe(host);
  console.log(`# kill -9 of a master: nchan accepts subscriptions ${Date.now() - t0} ms after the kill (${Date.now() - t1} ms of 503s after the service was back)`);
  assert.equal((await bal('POST', `/api/rooms/${roomId}/chat`, { text: 'after failover' }, host.token)).status, 201);
  // A chat nchan answered 503 during the failover may arrive late (the publisher queue sends it
  // again): wait for this one.
  await fresh.next((e) => e.type === 'chat.message' && e.data.message.text === 'after failover', 10000);
  // nchan (1.3.6 and 1.3.7) now and then aborts an nginx worker during a failover (SIGABRT after
  // "expected previous pubsub_status ... SUBSCRIBING"; docs/scaling.md, known limits): its
  // streams close, and their clients reconnect as the page does. Members whose streams stayed
  // open or came back are still members once a grace period has passed since the kill (pushd's
  // presence timers ran on through the failover).
  await sleep(Math.max(0, t0 + GRACE_MS + 2000 - Date.now()));
  const users = (await snapshot(bal, roomId, host.token)).room.users;
  const aborted = readFileSync(path.join(c.runDir, '1', 'logs', 'nginx-error.log'), 'utf8')
    .split('\n').filter((l) => l.includes('exited on signal')).length;
  console.log(`# failovers: nginx workers aborted ${aborted}, streams reconnected ${hostKept.reconnects + bobKept.reconnects}; ` +
    `members online ${users.filter((u) => u.online).length} of ${users.length}, a grace period after the kill`);
  // Both stayed members, and online: their streams stayed open (pushd's check of the leases
  // once closed live ones here, when nchan's answers did not get through after the kill).
  // Asserted without a worker abort only (none since scripts/nchan-patches/
  // cluster-change-survive.patch; before it, a member whose stream came back was still timed
  // out in 1 of 3 runs with one).
  if (aborted === 0) {
    assert.deepEqual(users.map((u) => u.id).sort(), [host.userId, bob.userId].sort());
    assert.ok(users.every((u) => u.online), 'a member shown offline although its stream is open');
  }
  fresh.terminate();
  await hostKept.stop(); await bobKept.stop();
});
