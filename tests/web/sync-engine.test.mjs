/*
 * The engine in a closed loop on virtual time: a fake server clock, a client
 * clock skewed by several seconds, asymmetric network delay, a fake media
 * player with seek and start latencies and clock drift.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { SyncEngine } from '../../web/js/sync/engine.js';
import { ServerClock } from '../../web/js/sync/clock.js';
import { expectedPosition } from '../../web/js/sync/expected.js';
import { median } from '../../web/js/sync/drift.js';
import { VirtualTime, FakePlayer, fakeServer } from '../sync/fakes.mjs';

async function setup({ skew = 5000, player: popts = {}, up = 12, down = 3 } = {}) {
  const vt = new VirtualTime();
  const server = fakeServer(vt, { up, down });
  const localNow = () => vt.now() + skew;
  const clock = new ServerClock({ fetchServerTime: server.fetchTime, localNow, wallNow: localNow, timers: vt });
  const p = clock.sync();
  await vt.advance(1000);
  await p;
  const player = new FakePlayer(vt, popts);
  const statuses = [];
  const engine = new SyncEngine({ player, clock, localNow, timers: vt, onStatus: (s) => statuses.push(s) });
  /* Samples the true error (server clock, not the client's) every 100 ms. */
  const samples = [];
  let state = null;
  const sampler = vt.setInterval(() => {
    if (state) samples.push({ t: vt.now(), e: player.pos - expectedPosition(state, server.now(), player.duration) });
  }, 100);
  const set = (video) => {
    state = video;
    engine.setState(video);
  };
  const stop = () => {
    vt.clearInterval(sampler);
    engine.destroy();
  };
  return { vt, server, clock, player, engine, samples, set, stop, statuses };
}

const VIDEO = { url: 'http://x/v.webm', kind: 'file', videoId: null, rate: 1 };
const ops = (player, op) => player.log.filter((x) => x.op === op);

/* First time after t0 from which |error| stays within tol (ms since t0). */
function convergence(samples, t0, tol = 0.1) {
  let since = null;
  for (const s of samples) {
    if (s.t < t0) continue;
    if (Math.abs(s.e) <= tol) since ??= s.t;
    else since = null;
  }
  return since === null ? Infinity : since - t0;
}

test('late join mid-playback: one seek, within 100 ms in <= 1.5 s, then steady', async () => {
  const h = await setup({ skew: 5000, player: { seekMs: 120, startMs: 60, rateDrift: 80e-6 } });
  const t0 = h.vt.now();
  h.set({ ...VIDEO, playing: true, position: 100, updatedAt: h.server.now() - 20000 });
  await h.vt.advance(60000);
  h.stop();
  assert.equal(ops(h.player, 'seek').length, 1);
  const conv = convergence(h.samples, t0);
  assert.ok(conv <= 1500, `converged after ${conv} ms`);
  const steady = h.samples.filter((s) => s.t > t0 + 5000).map((s) => Math.abs(s.e));
  assert.ok(median(steady) <= 0.05, `median ${median(steady)}`);
  assert.ok(Math.max(...steady) <= 0.1, `max ${Math.max(...steady)}`);
  assert.ok(ops(h.player, 'rate').length <= 8, `${ops(h.player, 'rate').length} rate changes`);
});

for (const skew of [-5000, 5000]) {
  test(`play, seek, rate, pause with ${skew} ms skew: events are followed tightly`, async () => {
    const h = await setup({ skew, player: { seekMs: 60, startMs: 40 } });
    const v = { ...VIDEO, playing: false, position: 0, updatedAt: h.server.now() };
    h.set(v);
    await h.vt.advance(500);
    assert.equal(h.player.paused, true);
    assert.equal(h.statuses.at(-1), 'paused');
    /* Play: delivered 30 ms after the server stamped it. */
    const tPlay = h.vt.now();
    await h.vt.advance(30);
    h.set({ ...v, playing: true, updatedAt: tPlay + 1.7e12 });
    await h.vt.advance(10000);
    assert.ok(convergence(h.samples, tPlay) <= 1500);
    const seeksAfterPlay = ops(h.player, 'seek').length;
    assert.ok(seeksAfterPlay <= 1);
    /* Seek to 50 s while playing. */
    const tSeek = h.vt.now();
    h.set({ ...v, playing: true, position: 50, updatedAt: h.server.now() - 20 });
    await h.vt.advance(10000);
    assert.equal(ops(h.player, 'seek').length, seeksAfterPlay + 1, 'one seek for the event');
    assert.ok(convergence(h.samples, tSeek) <= 1500, `seek converged after ${convergence(h.samples, tSeek)}`);
    /* Rate 1.5 from the current expected position. */
    const tRate = h.vt.now();
    const pos = expectedPosition({ ...v, playing: true, position: 50, updatedAt: tSeek + 1.7e12 - 20 }, h.server.now());
    h.set({ ...v, playing: true, position: pos, rate: 1.5, updatedAt: h.server.now() - 15 });
    await h.vt.advance(5000);
    assert.ok(Math.abs(h.player.rate - 1.5) < 0.2);
    assert.ok(convergence(h.samples, tRate) <= 1500);
    /* Pause: lands exactly on the position. */
    h.set({ ...v, playing: false, position: 61.25, rate: 1.5, updatedAt: h.server.now() });
    await h.vt.advance(1000);
    assert.equal(h.player.paused, true);
    assert.equal(h.player.pos, 61.25);
    assert.equal(h.player.rate, 1.5);
    h.stop();
  });
}

test('video.sync beacons (same state) change nothing', async () => {
  const h = await setup();
  const v = { ...VIDEO, playing: true, position: 10, updatedAt: h.server.now() };
  h.set(v);
  await h.vt.advance(5000);
  const before = h.player.log.length;
  const seeks = ops(h.player, 'seek').length;
  assert.equal(seeks, 1, 'the player started at 0, the state says 10');
  for (let i = 0; i < 10; i++) {
    h.set({ ...v });
    await h.vt.advance(2000);
  }
  assert.equal(ops(h.player, 'seek').length, seeks);
  assert.ok(h.player.log.length - before <= 2);
  h.stop();
});

test('autoplay blocked: status blocked until a user gesture, then joins at the right spot', async () => {
  const h = await setup({ player: { autoplay: false } });
  h.set({ ...VIDEO, playing: true, position: 30, updatedAt: h.server.now() });
  await h.vt.advance(3000);
  assert.equal(h.statuses.at(-1), 'blocked');
  assert.equal(h.player.paused, true);
  h.player.autoplay = true;
  const t = h.vt.now();
  h.engine.userGesture();
  await h.vt.advance(3000);
  assert.equal(h.player.paused, false);
  assert.equal(h.statuses.at(-1), 'playing');
  assert.ok(convergence(h.samples, t) <= 1500);
  h.stop();
});

test('a buffering player is not fought, and is resynced when it resumes', async () => {
  const h = await setup();
  h.set({ ...VIDEO, playing: true, position: 0, updatedAt: h.server.now() });
  await h.vt.advance(5000);
  const ratesBefore = ops(h.player, 'rate').length;
  const seeksBefore = ops(h.player, 'seek').length;
  h.player.stall(2000);
  await h.vt.advance(1900);
  assert.equal(h.statuses.at(-1), 'buffering');
  assert.equal(ops(h.player, 'seek').length, seeksBefore, 'no seek while buffering');
  assert.ok(ops(h.player, 'rate').length - ratesBefore <= 1);
  const tResume = h.vt.now() + 100;
  await h.vt.advance(5000);
  assert.equal(ops(h.player, 'seek').length, seeksBefore + 1, 'one resync seek');
  assert.ok(convergence(h.samples, tResume) <= 1500);
  h.stop();
});

test('a player that stalls silently (no waiting event) is detected', async () => {
  const h = await setup();
  h.set({ ...VIDEO, playing: true, position: 0, updatedAt: h.server.now() });
  await h.vt.advance(3000);
  /* Freeze the clock without telling anyone. */
  h.player.fold();
  h.player.runningSince = null;
  await h.vt.advance(1500);
  assert.equal(h.statuses.at(-1), 'buffering');
  assert.equal(h.engine.stats.stalls, 1);
  h.stop();
});

test('nothing is decided on a playing state before the clock is synced', async () => {
  const vt = new VirtualTime();
  const skew = 3000;
  const server = fakeServer(vt, { up: 400, down: 400 });
  const localNow = () => vt.now() + skew;
  const clock = new ServerClock({ fetchServerTime: server.fetchTime, localNow, wallNow: localNow, timers: vt, burst: 1 });
  const player = new FakePlayer(vt);
  const engine = new SyncEngine({ player, clock, localNow, timers: vt });
  clock.sync();
  engine.setState({ ...VIDEO, playing: true, position: 40, updatedAt: server.now() });
  await vt.advance(500);
  assert.equal(player.log.length, 0, 'no seek or play on a wall clock that is 3 s off');
  assert.equal(engine.status, 'loading');
  await vt.advance(3000);
  assert.equal(ops(player, 'seek').length, 1);
  const err = player.pos - expectedPosition(engine.state, server.now());
  assert.ok(Math.abs(err) < 0.1, `error ${err}`);
  engine.destroy();
});

test('a scheduled start (updatedAt ahead): holds at the position, starts on time, never seeks back', async () => {
  /* From 0 to 42 (a wait's resume), and from 0 to 0 (the next queue item: nothing to seek). */
  for (const [from, to] of [[0, 42], [42, 42], [0, 0]]) {
    const h = await setup({ skew: 3000, player: { seekMs: 150, startMs: 50 } });
    h.set({ ...VIDEO, playing: false, position: from, updatedAt: h.server.now() });
    await h.vt.advance(1000);
    const startAt = h.server.now() + 3000;
    const v = { ...VIDEO, playing: true, position: to, updatedAt: startAt };
    h.set(v);
    assert.equal(h.engine.expected(), to, 'the display holds at the position');
    await h.vt.advance(2500);
    assert.equal(h.player.paused, true, `nothing plays before the start (${from} to ${to})`);
    assert.ok(Math.abs(h.player.pos - to) < 0.01, `held at ${h.player.pos}`);
    await h.vt.advance(3000);
    h.stop();
    const seeks = ops(h.player, 'seek').map((x) => x.s);
    assert.equal(seeks.length, from === to ? (to ? 1 : 0) : 1, `seeks ${seeks}`);
    assert.ok(seeks.every((s) => s === to), `seeked to ${seeks}`);
    /* From 200 ms after the start on, within 50 ms of the room. */
    const late = h.samples.filter((s) => s.t > h.vt.now() - 2300).map((s) => Math.abs(s.e));
    assert.ok(Math.max(...late) <= 0.05, `error after the start ${Math.max(...late)}`);
  }
});
