/*
 * web/js/events.js without a browser: the resync protocol (buffer, fetch,
 * apply seq > state.seq, refetch on a gap) and the transport fallback
 * (WebSocket -> EventSource -> long-poll), driven with fake transports and
 * fake timers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventStream } from '../../web/js/events.js';

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
  const env = {
    location: { protocol: 'http:', host: 'example.test' },
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

function harness(overrides = {}) {
  const env = fakeEnv();
  const log = { states: [], events: [], statuses: [], fatal: null, fetches: [] };
  const stream = createEventStream({
    path: '/api/rooms/ABC123/events?token=t',
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
  return { env, log, stream };
}

const ev = (seq, type = 'chat.message') => ({ type, seq, at: 0, data: { n: seq } });
const state = (seq) => ({ room: { seq, users: [] }, chat: [] });

describe('resync protocol', () => {
  test('buffers while fetching, then applies only seq > state.seq', async () => {
    const { env, log, stream } = harness();
    assert.equal(env.sockets.length, 1);
    assert.equal(env.sockets[0].url, 'ws://example.test/api/rooms/ABC123/events?token=t');
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
    const { env, log, stream } = harness();
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

    ws.send(ev(13)); /* 12 is missing */
    assert.equal(log.fetches.length, 2);
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
    const { env, log, stream } = harness();
    const ws = env.sockets[0];
    ws.open();
    log.fetches[0].resolve(state(3));
    await tick();
    ws.send(ev(5, 'video.sync'));
    assert.equal(log.fetches.length, 2);
    log.fetches[1].resolve(state(5));
    await tick();
    assert.deepEqual(log.events.map((e) => `${e.type}@${e.seq}`), ['video.sync@5']);
    stream.close();
  });

  test('401 on the state fetch is fatal and closes the stream', async () => {
    const { env, log } = harness();
    env.sockets[0].open();
    log.fetches[0].reject(Object.assign(new Error('nope'), { status: 401 }));
    await tick();
    assert.equal(log.fatal.status, 401);
    assert.equal(env.sockets[0].closed, true);
    await env.advance(60000);
    assert.equal(env.sockets.length, 1, 'no reconnect after a fatal error');
  });

  test('a transient state-fetch failure is retried', async () => {
    const { env, log, stream } = harness();
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

describe('transport fallback', () => {
  test('WebSocket failing before open -> EventSource -> long-poll', async () => {
    const { env, log, stream } = harness();
    env.sockets[0].drop();
    assert.equal(stream.status, 'reconnecting');
    /* The probe asks the API why (here: no answer yet, so no verdict). */
    assert.equal(log.fetches.length, 1);
    await env.advance(300);
    assert.equal(env.sources.length, 1);
    assert.equal(env.sources[0].url, '/api/rooms/ABC123/events?token=t');
    env.sources[0].onerror();
    assert.equal(env.sources[0].closed, true);
    await env.advance(300);
    assert.equal(env.polls.length, 1);
    assert.equal(env.polls[0].url, '/api/rooms/ABC123/events?token=t');
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
    const { env, log, stream } = harness();
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
    const { env, log } = harness();
    env.sockets[0].drop();
    log.fetches[0].reject(Object.assign(new Error('gone'), { status: 401 }));
    await tick();
    assert.equal(log.fatal.status, 401);
    await env.advance(60000);
    assert.equal(env.sources.length, 0, 'no more attempts');
  });

  test('forced transport list is honoured', async () => {
    const { env, stream } = harness({ transports: ['sse'] });
    assert.equal(env.sockets.length, 0);
    assert.equal(env.sources.length, 1);
    stream.close();
  });
});
