/*
 * web/js/events.js without a browser: the resync protocol (buffer, fetch,
 * apply seq > state.seq, refetch on a gap), the transport fallback
 * (WebSocket -> EventSource -> long-poll) and the credentials (a fresh
 * single-use ticket before every WebSocket/EventSource attempt, the bearer
 * token only in long-poll's Authorization header, never in a URL), driven
 * with fake transports, a fake ticket endpoint and fake timers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventStream, eventsPath } from '../../web/js/events.js';

const PATH = '/api/rooms/ABC123/events';
const TOKEN = 'SeCrEt-bearer-token';

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

function fakeEnv() {
  let now = 0;
  const timers = [];
  const listeners = {};
  const env = {
    location: { protocol: 'http:', host: 'example.test' },
    navigator: { onLine: true },
    addEventListener(type, fn) {
      (listeners[type] ||= []).push(fn);
    },
    removeEventListener(type, fn) {
      listeners[type] = (listeners[type] || []).filter((f) => f !== fn);
    },
    dispatch(type) {
      for (const fn of listeners[type] || []) fn();
    },
    sockets: [],
    sources: [],
    polls: [],
    setTimeout(fn, ms) {
      const t = { fn, at: now + (ms || 0) };
      timers.push(t);
      return t;
    },
    clearTimeout(t) {
      const i = timers.indexOf(t);
      if (i >= 0) timers.splice(i, 1);
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > until) break;
        timers.shift();
        now = next.at;
        next.fn();
        await tick();
      }
      now = until;
      await tick();
    },
  };
  env.WebSocket = class {
    constructor(url) {
      this.url = url;
      env.sockets.push(this);
    }
    close() {
      this.closed = true;
    }
    open() {
      this.onopen && this.onopen();
    }
    send(ev) {
      this.onmessage && this.onmessage({ data: JSON.stringify(ev) });
    }
    drop() {
      this.onclose && this.onclose();
    }
  };
  env.EventSource = class {
    constructor(url) {
      this.url = url;
      env.sources.push(this);
    }
    close() {
      this.closed = true;
    }
  };
  env.fetch = (url, init) => {
    const d = deferred();
    env.polls.push({ url, init, ...d });
    return d.promise;
  };
  return env;
}

/*
 * The stream on fake everything. Tickets: 'auto' answers at once with tk1, tk2, ...; 'manual'
 * leaves each request in log.tickets[i] (a deferred) for the test to settle. `order` records
 * ticket requests and transport constructions in sequence.
 */
async function harness(overrides = {}, { tickets = 'auto' } = {}) {
  const env = fakeEnv();
  const log = { states: [], events: [], statuses: [], fatal: null, fetches: [], tickets: [], order: [] };
  let issued = 0;
  const Ws = env.WebSocket;
  env.WebSocket = class extends Ws {
    constructor(url) {
      super(url);
      log.order.push(`ws ${url}`);
    }
  };
  const Es = env.EventSource;
  env.EventSource = class extends Es {
    constructor(url) {
      super(url);
      log.order.push(`sse ${url}`);
    }
  };
  const stream = createEventStream({
    path: PATH,
    token: TOKEN,
    ticket: () => {
      issued += 1;
      log.order.push(`ticket ${issued}`);
      if (tickets === 'auto') {
        log.tickets.push(`tk${issued}`);
        return Promise.resolve(`tk${issued}`);
      }
      const d = deferred();
      log.tickets.push(d);
      return d.promise;
    },
    env,
    fetchState: () => {
      const d = deferred();
      log.fetches.push(d);
      return d.promise;
    },
    onState: (s) => log.states.push(s),
    onEvent: (e) => log.events.push(e),
    onStatus: (s, t) => log.statuses.push(`${s}:${t}`),
    onFatal: (err) => {
      log.fatal = err;
    },
    ...overrides,
  });
  await tick(); /* The first ticket arrives. */
  return { env, log, stream };
}

/** Every URL the stream asked the fake environment to open. */
function allUrls(env) {
  return [...env.sockets.map((s) => s.url), ...env.sources.map((s) => s.url), ...env.polls.map((p) => p.url)];
}

const ev = (seq, type = 'chat.message') => ({ type, seq, at: 0, data: { n: seq } });
const state = (seq) => ({ room: { seq, users: [] }, chat: [] });

describe('resync protocol', () => {
  test('buffers while fetching, then applies only seq > state.seq', async () => {
    const { env, log, stream } = await harness();
    assert.equal(env.sockets.length, 1);
    assert.equal(env.sockets[0].url, 'ws://example.test/api/rooms/ABC123/events?ticket=tk1');
    const ws = env.sockets[0];
    ws.open();
    assert.equal(log.fetches.length, 1);
    ws.send(ev(5));
    ws.send(ev(7));
    ws.send(ev(6));
    assert.deepEqual(log.events, []);
    log.fetches[0].resolve(state(6));
    await tick();
    assert.equal(log.states.length, 1);
    assert.deepEqual(log.events.map((e) => e.seq), [7]);
    assert.equal(stream.status, 'live');
    stream.close();
  });

  test('a gap refetches; duplicates are dropped; typing and fresh beacons pass', async () => {
    const { env, log, stream } = await harness();
    const ws = env.sockets[0];
    ws.open();
    log.fetches[0].resolve(state(10));
    await tick();
    ws.send(ev(10)); /* already in the state */
    ws.send(ev(11));
    ws.send(ev(11)); /* duplicate */
    ws.send(ev(11, 'typing'));
    ws.send(ev(11, 'video.sync'));
    ws.send(ev(9, 'video.sync')); /* older than our state */
    assert.deepEqual(log.events.map((e) => `${e.type}@${e.seq}`), ['chat.message@11', 'typing@11', 'video.sync@11']);

    ws.send(ev(13)); /* 12 is missing: held for the reorder wait, then a refetch */
    assert.equal(log.fetches.length, 1, 'not at once: 12 may be on its way');
    await env.advance(999);
    assert.equal(log.fetches.length, 1);
    await env.advance(1);
    assert.equal(log.fetches.length, 2, 'the gap did not fill: refetch');
    ws.send(ev(14));
    log.fetches[1].resolve(state(13));
    await tick();
    assert.equal(log.states.length, 2);
    assert.deepEqual(log.events.slice(3).map((e) => e.seq), [14]);
    ws.send(ev(15));
    assert.deepEqual(log.events.slice(4).map((e) => e.seq), [15]);
    stream.close();
  });

  test('a beacon ahead of our seq means we missed something', async () => {
    const { env, log, stream } = await harness();
    const ws = env.sockets[0];
    ws.open();
    log.fetches[0].resolve(state(3));
    await tick();
    ws.send(ev(5, 'video.sync'));
    assert.equal(log.fetches.length, 1);
    await env.advance(1000);
    assert.equal(log.fetches.length, 2);
    log.fetches[1].resolve(state(5));
    await tick();
    assert.deepEqual(log.events.map((e) => `${e.type}@${e.seq}`), ['video.sync@5']);
    stream.close();
  });

  test('events overtaken on the way are put back in order, without a refetch', async () => {
    const { env, log, stream } = await harness();
    const ws = env.sockets[0];
    ws.open();
    log.fetches[0].resolve(state(10));
    await tick();
    /* pushd's beacon, stamped after event 11, overtakes it; so do 13 and typing@13. */
    ws.send(ev(11, 'video.sync'));
    ws.send(ev(13, 'typing'));
    ws.send(ev(13));
    ws.send({ type: 'heartbeat', seq: 13, at: 0, data: { every: 15000 } });
    assert.deepEqual(log.events, [], 'held');
    ws.send(ev(11));
    assert.deepEqual(log.events.map((e) => `${e.type}@${e.seq}`), ['chat.message@11', 'video.sync@11']);
    ws.send(ev(12));
    await env.advance(5000);
    assert.deepEqual(log.events.map((e) => `${e.type}@${e.seq}`), [
      'chat.message@11',
      'video.sync@11',
      'chat.message@12',
      'chat.message@13',
      'typing@13',
    ]);
    assert.equal(log.fetches.length, 1, 'no refetch: the gaps filled in time');
    /* Held events go into the refetch when a gap does not fill. */
    ws.send(ev(15));
    await env.advance(1000);
    assert.equal(log.fetches.length, 2);
    log.fetches[1].resolve(state(14));
    await tick();
    assert.deepEqual(log.events.slice(5).map((e) => e.seq), [15]);
    stream.close();
  });

  test('heartbeats: never delivered, their period sets the watchdog, a seq ahead resyncs', async () => {
    const { env, log, stream } = await harness();
    const ws = env.sockets[0];
    ws.open();
    log.fetches[0].resolve(state(3));
    await tick();
    ws.send({ type: 'heartbeat', seq: 3, at: 0, data: { every: 1000 } });
    assert.equal(log.events.length, 0, 'not for the page');
    assert.equal(log.fetches.length, 1, 'in step: no refetch');
    ws.send({ type: 'heartbeat', seq: 4, at: 0, data: { every: 1000 } });
    await env.advance(1000);
    assert.equal(log.fetches.length, 2, 'an event was missed: refetch');
    log.fetches[1].resolve(state(4));
    await tick();
    /* Alive while something arrives within 3 periods (1 s of them went by above)... */
    await env.advance(1500);
    ws.send({ type: 'heartbeat', seq: 4, at: 0, data: { every: 1000 } });
    await env.advance(2500);
    assert.equal(ws.closed, undefined);
    assert.equal(env.sockets.length, 1);
    /* ...and a stream silent for 3 periods is dropped and replaced, with a fresh ticket. */
    await env.advance(600);
    assert.equal(ws.closed, true, 'the silent stream is closed');
    await env.advance(1100);
    assert.equal(env.sockets.length, 2, 'and a new one opened');
    assert.notEqual(env.sockets[1].url, ws.url);
    stream.close();
  });

  test('a silent stream is dropped after 3 default periods (45 s) without any heartbeat', async () => {
    const { env, log, stream } = await harness();
    const ws = env.sockets[0];
    ws.open();
    log.fetches[0].resolve(state(1));
    await tick();
    await env.advance(44000);
    assert.equal(ws.closed, undefined);
    await env.advance(1500);
    assert.equal(ws.closed, true);
    stream.close();
  });

  test('401 on the state fetch is fatal and closes the stream', async () => {
    const { env, log } = await harness();
    env.sockets[0].open();
    log.fetches[0].reject(Object.assign(new Error('nope'), { status: 401 }));
    await tick();
    assert.equal(log.fatal.status, 401);
    assert.equal(env.sockets[0].closed, true);
    await env.advance(60000);
    assert.equal(env.sockets.length, 1, 'no reconnect after a fatal error');
  });

  test('a transient state-fetch failure is retried', async () => {
    const { env, log, stream } = await harness();
    env.sockets[0].open();
    log.fetches[0].reject(Object.assign(new Error('down'), { status: 503 }));
    await tick();
    assert.equal(log.fatal, null);
    await env.advance(2500);
    assert.equal(log.fetches.length, 2);
    log.fetches[1].resolve(state(1));
    await tick();
    assert.equal(stream.status, 'live');
    stream.close();
  });
});

describe('long-poll and heartbeats', () => {
  test('a poll that hears nothing for three heartbeat periods is abandoned and renewed', async () => {
    const { env, log, stream } = await harness({ transports: ['poll'] });
    await env.advance(400);
    log.fetches[0].resolve(state(1));
    await tick();
    env.polls[0].resolve({ status: 200, text: async () => JSON.stringify({ type: 'heartbeat', seq: 1, at: 0, data: { every: 1000 } }) });
    await tick();
    await tick();
    assert.equal(env.polls.length, 2);
    assert.equal(log.events.length, 0, 'heartbeats are not for the page');
    const aborted = () => env.polls[1].init.signal.aborted;
    await env.advance(2900);
    assert.equal(aborted(), false);
    await env.advance(200);
    assert.equal(aborted(), true, 'abandoned after 3 s, not the usual 15 s');
    stream.close();
  });
});

describe('transport fallback', () => {
  test('a ticket that names its channel opens /events/{channel} with the member\'s id; one without, /events', async () => {
    let n = 0;
    const named = () => {
      n += 1;
      return Promise.resolve({ ticket: `tk${n}`, channel: 'ABC123-2' });
    };
    const { env, stream } = await harness({ ticket: named, userId: 'u-1' });
    assert.deepEqual(allUrls(env), ['ws://example.test/api/rooms/ABC123/events/ABC123-2?ticket=tk1&user=u-1']);
    env.sockets[0].drop();
    await env.advance(300);
    assert.equal(env.sources[0].url, '/api/rooms/ABC123/events/ABC123-2?ticket=tk2&user=u-1');
    env.sources[0].onerror();
    await env.advance(300);
    stream.close();
    const plain = await harness({ ticket: () => Promise.resolve({ ticket: 'tk9', channel: 'ABC123-2' }) });
    assert.deepEqual(allUrls(plain.env), ['ws://example.test/api/rooms/ABC123/events?ticket=tk9'], 'no userId: the path that needs none');
    plain.stream.close();
    const empty = await harness({ ticket: () => Promise.resolve({ ticket: '', channel: 'ABC123-2' }), userId: 'u-1' });
    assert.deepEqual(allUrls(empty.env), [], 'an empty ticket opens nothing');
    empty.stream.close();
  });

  test('WebSocket failing before open -> EventSource -> long-poll', async () => {
    const { env, log, stream } = await harness();
    env.sockets[0].drop();
    assert.equal(stream.status, 'reconnecting');
    /* The probe asks the API why (here: no answer yet, so no verdict). */
    assert.equal(log.fetches.length, 1);
    await env.advance(300);
    assert.equal(env.sources.length, 1);
    assert.equal(env.sources[0].url, '/api/rooms/ABC123/events?ticket=tk2');
    env.sources[0].onerror();
    assert.equal(env.sources[0].closed, true);
    await env.advance(300);
    assert.equal(env.polls.length, 1);
    assert.equal(env.polls[0].url, '/api/rooms/ABC123/events');
    assert.equal(env.polls[0].init.cache, 'no-store');
    assert.equal(stream.transport, 'poll');

    /* The poll counts as subscribed after a moment; then the state is fetched. */
    await env.advance(400);
    /* Two probes (one per failed transport), then the sync fetch. */
    assert.equal(log.fetches.length, 3);
    log.fetches[2].resolve(state(2));
    await tick();
    assert.equal(stream.status, 'live');

    /* A long-poll answer carries one event; the loop polls again at once. */
    env.polls[0].resolve({ status: 200, text: async () => JSON.stringify(ev(3)) });
    await tick();
    await tick();
    assert.deepEqual(log.events.map((e) => e.seq), [3]);
    assert.equal(env.polls.length, 2);

    /* Once events go quiet, the state is fetched again to catch what fell between polls. */
    const before = log.fetches.length;
    await env.advance(800);
    assert.equal(log.fetches.length, before + 1);
    log.fetches[before].resolve(state(5));
    await tick();
    assert.equal(log.states.length, 2);
    assert.equal(stream.status, 'live');

    /* Long-poll loses what falls between polls: a gap there refetches at once, no waiting. */
    const atGap = log.fetches.length;
    env.polls[env.polls.length - 1].resolve({ status: 200, text: async () => JSON.stringify(ev(7)) });
    await tick();
    await tick();
    assert.equal(log.fetches.length, atGap + 1, 'a long-poll gap refetches at once');
    log.fetches[atGap].resolve(state(7));
    await tick();

    /* A poll never hangs longer than 15 s: it is aborted and sent again. */
    const polls = env.polls.length;
    await env.advance(15100);
    assert.equal(env.polls[polls - 1].init.signal.aborted, true);
    env.polls[polls - 1].reject(new Error('aborted'));
    await tick();
    await tick();
    assert.equal(env.polls.length, polls + 1);
    assert.equal(stream.status, 'live');
    stream.close();
  });

  test('a transport that worked and dropped is tried again first', async () => {
    const { env, log, stream } = await harness();
    env.sockets[0].open();
    log.fetches[0].resolve(state(1));
    await tick();
    assert.deepEqual(log.statuses, ['connecting:ws', 'live:ws']);
    env.sockets[0].drop();
    assert.equal(stream.status, 'reconnecting');
    await env.advance(1100);
    assert.equal(env.sockets.length, 2);
    assert.equal(env.sources.length, 0);
    stream.close();
  });

  test('the probe after a failed connect detects removal (401)', async () => {
    const { env, log } = await harness();
    env.sockets[0].drop();
    log.fetches[0].reject(Object.assign(new Error('gone'), { status: 401 }));
    await tick();
    assert.equal(log.fatal.status, 401);
    await env.advance(60000);
    assert.equal(env.sources.length, 0, 'no more attempts');
  });

  test('forced transport list is honoured', async () => {
    const { env, stream } = await harness({ transports: ['sse'] });
    assert.equal(env.sockets.length, 0);
    assert.equal(env.sources.length, 1);
    stream.close();
  });
});

describe('credentials: tickets, never the token in a URL', () => {
  test('a fresh ticket is fetched right before every WebSocket/EventSource attempt, never reused', async () => {
    const { env, log, stream } = await harness();
    /* Round 1: ws fails, sse fails, poll fails; backoff; round 2 starts over at ws. */
    env.sockets[0].drop();
    await env.advance(300);
    env.sources[0].onerror();
    await env.advance(300);
    env.polls[0].resolve({ status: 500, text: async () => '' });
    await tick();
    await tick();
    await env.advance(1100);
    assert.equal(env.sockets.length, 2);
    /* Round 2's WebSocket opens and later drops: it is retried (after 1 s) with a new ticket. */
    env.sockets[1].open();
    log.fetches.at(-1).resolve(state(1));
    await tick();
    env.sockets[1].drop();
    await env.advance(1100);
    assert.equal(env.sockets.length, 3);
    /* Going back online replaces the connection, again with a new ticket. */
    env.dispatch('online');
    await tick();
    assert.equal(env.sockets.length, 4);

    assert.deepEqual(log.order, [
      'ticket 1',
      'ws ws://example.test/api/rooms/ABC123/events?ticket=tk1',
      'ticket 2',
      'sse /api/rooms/ABC123/events?ticket=tk2',
      'ticket 3',
      'ws ws://example.test/api/rooms/ABC123/events?ticket=tk3',
      'ticket 4',
      'ws ws://example.test/api/rooms/ABC123/events?ticket=tk4',
      'ticket 5',
      'ws ws://example.test/api/rooms/ABC123/events?ticket=tk5',
    ]);
    /* The long-poll in between asked for no ticket. */
    assert.equal(env.polls.length, 1);
    stream.close();
  });

  test('a ticket that arrives after its attempt was abandoned is never used', async () => {
    const { env, log, stream } = await harness({}, { tickets: 'manual' });
    assert.equal(log.tickets.length, 1);
    assert.equal(env.sockets.length, 0, 'nothing opens before the ticket is there');
    /* Going online starts a new attempt while the first ticket is still on its way. */
    env.dispatch('online');
    await tick();
    assert.equal(log.tickets.length, 2);
    log.tickets[0].resolve('late');
    log.tickets[1].resolve('fresh');
    await tick();
    assert.deepEqual(env.sockets.map((s) => s.url), ['ws://example.test/api/rooms/ABC123/events?ticket=fresh']);
    /* A ticket request that hangs counts as a failed attempt; its late answer is ignored. */
    env.sockets[0].drop();
    await env.advance(300);
    assert.equal(log.tickets.length, 3);
    await env.advance(8100);
    assert.equal(stream.status, 'reconnecting');
    log.tickets[2].resolve('too-late');
    await tick();
    assert.equal(env.sources.length, 0);
    /* The same transport is tried again after the backoff, with a new ticket request... */
    await env.advance(1000);
    assert.equal(log.tickets.length, 4);
    /* ...whose answer comes after the page closed the stream (leaving, say). */
    stream.close();
    log.tickets[3].resolve('after-close');
    await tick();
    await env.advance(60000);
    assert.equal(log.tickets.length, 4);
    assert.deepEqual(allUrls(env), ['ws://example.test/api/rooms/ABC123/events?ticket=fresh']);
  });

  test('no URL ever carries the token; long-poll sends it as a header, without resume headers', async () => {
    const { env, log, stream } = await harness();
    env.sockets[0].drop();
    await env.advance(300);
    env.sources[0].onerror();
    await env.advance(300);
    await env.advance(400);
    log.fetches.at(-1).resolve(state(1));
    env.polls[0].resolve({ status: 200, text: async () => JSON.stringify(ev(2)) });
    await tick();
    await tick();
    assert.equal(env.polls.length, 2);
    for (const poll of env.polls) {
      assert.equal(poll.url, PATH);
      assert.equal(poll.init.cache, 'no-store');
      assert.equal(poll.init.headers.Authorization, `Bearer ${TOKEN}`);
      assert.equal(poll.init.headers.Accept, 'application/json');
      const names = Object.keys(poll.init.headers).map((n) => n.toLowerCase());
      for (const banned of ['if-none-match', 'if-modified-since', 'last-event-id']) {
        assert.ok(!names.includes(banned), `poll sends ${banned}`);
      }
    }
    stream.close();

    const urls = allUrls(env);
    assert.equal(urls.length, 4);
    for (const url of urls) {
      assert.doesNotMatch(url, /[?&]token=/);
      assert.ok(!url.includes(TOKEN), `token in ${url}`);
      assert.doesNotMatch(url, /last_event_id/);
    }
    assert.equal(eventsPath('ABC123'), PATH);
    assert.equal(eventsPath('ABC123', TOKEN), PATH, 'no token form left');
  });

  for (const status of [401, 403, 404]) {
    test(`a ${status} on the ticket request is fatal: no transport, no retry`, async () => {
      const { env, log } = await harness({}, { tickets: 'manual' });
      log.tickets[0].reject(Object.assign(new Error('no'), { status }));
      await tick();
      assert.equal(log.fatal && log.fatal.status, status);
      await env.advance(60000);
      assert.equal(log.tickets.length, 1);
      assert.equal(allUrls(env).length, 0);
    });
  }

  test('a 503 on the ticket request backs off and tries the same transport again', async () => {
    const { env, log, stream } = await harness({}, { tickets: 'manual' });
    const unavailable = () => Object.assign(new Error('busy'), { status: 503 });
    log.tickets[0].reject(unavailable());
    await tick();
    assert.equal(log.fatal, null);
    assert.equal(stream.status, 'reconnecting');
    assert.equal(stream.transport, 'ws');
    await env.advance(900);
    assert.equal(log.tickets.length, 1, 'not before the first backoff step (1 s)');
    await env.advance(200);
    assert.equal(log.tickets.length, 2);
    log.tickets[1].reject(unavailable());
    await tick();
    await env.advance(1900);
    assert.equal(log.tickets.length, 2, 'the second wait is longer (2 s)');
    await env.advance(200);
    assert.equal(log.tickets.length, 3);
    log.tickets[2].resolve('ok3');
    await tick();
    assert.equal(env.sources.length + env.polls.length, 0, 'a ticket failure is not a transport failure');
    assert.deepEqual(env.sockets.map((s) => s.url), ['ws://example.test/api/rooms/ABC123/events?ticket=ok3']);
    env.sockets[0].open();
    log.fetches.at(-1).resolve(state(1));
    await tick();
    assert.equal(stream.status, 'live');
    /* Opening resets the backoff: the next failure waits 1 s again. */
    env.sockets[0].drop();
    await env.advance(1100);
    log.tickets[3].reject(unavailable());
    await tick();
    await env.advance(1100);
    assert.equal(log.tickets.length, 5);
    stream.close();
  });
});
