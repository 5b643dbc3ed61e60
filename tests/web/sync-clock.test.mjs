import test from 'node:test';
import assert from 'node:assert/strict';
import { clockSample, bestClockSample, ServerClock, CLOCK_REFRESH_MS, CLOCK_EARLY_REFRESH_MS, CLOCK_BURST_SAMPLES } from '../../web/js/sync/clock.js';
import { VirtualTime, fakeServer } from '../sync/fakes.mjs';

test('symmetric delay gives the exact offset', () => {
  /* Client clock 5000 ms behind the server; 10 ms each way. */
  const s = clockSample(1000, 1000 + 5000 + 10, 1020);
  assert.equal(s.rtt, 20);
  assert.equal(s.offset, 5000);
});

test('asymmetric delay errs by half the difference, within rtt/2', () => {
  /* up 30 ms, down 2 ms, true offset -5000. */
  const t0 = 10000;
  const server = t0 + 30 - 5000;
  const t1 = t0 + 32;
  const s = clockSample(t0, server, t1);
  assert.equal(s.offset - -5000, (30 - 2) / 2);
  assert.ok(Math.abs(s.offset - -5000) <= s.rtt / 2);
});

test('impossible samples are rejected', () => {
  assert.equal(clockSample(100, 5, 90), null);
  assert.equal(clockSample(NaN, 5, 90), null);
  assert.equal(clockSample(0, Infinity, 10), null);
  assert.equal(clockSample(0, 5, 60000), null);
});

test('the smallest round trip wins, old samples are penalised', () => {
  const samples = [
    { offset: 10, rtt: 40, at: 1000 },
    { offset: 20, rtt: 4, at: 1000 },
    { offset: 30, rtt: 9, at: 1000 },
  ];
  assert.equal(bestClockSample(samples, 1000).offset, 20);
  /* 100 s later a fresh 9 ms sample beats a 4 ms one that is 200 s old. */
  const aged = [
    { offset: 20, rtt: 4, at: 0 },
    { offset: 30, rtt: 9, at: 199000 },
  ];
  assert.equal(bestClockSample(aged, 200000).offset, 30);
  assert.equal(bestClockSample([], 0), null);
});

for (const skew of [5000, -5000, 0]) {
  test(`ServerClock tracks the server with ${skew} ms skew and jittery asymmetric delay`, async () => {
    const vt = new VirtualTime();
    const delays = [[40, 3], [3, 60], [2, 2], [25, 25], [8, 1]];
    let i = 0;
    const d = () => delays[i % delays.length];
    const server = fakeServer(vt, { up: () => d()[0], down: () => { const x = d()[1]; i++; return x; } });
    const clock = new ServerClock({ fetchServerTime: server.fetchTime, localNow: () => vt.now() + skew, wallNow: () => vt.now() + skew, timers: vt });
    assert.equal(clock.synced, false);
    const p = clock.sync();
    await vt.advance(2000);
    assert.equal(await p, true);
    assert.equal(clock.samples.length, 8);
    /* The best sample is the 2+2 ms one: error at most 2 ms, here 0. */
    assert.equal(clock.best.rtt, 4);
    assert.ok(Math.abs(clock.now() - server.now()) <= 2, `${clock.now() - server.now()}`);
    assert.ok(clock.uncertainty <= 2);
  });
}

test('ServerClock refreshes early, then periodically, and survives failures', async () => {
  const vt = new VirtualTime();
  let calls = 0;
  let fail = true;
  const server = fakeServer(vt, { up: 5, down: 5 });
  const fetchServerTime = () => {
    calls++;
    return fail ? Promise.reject(new Error('offline')) : server.fetchTime();
  };
  const clock = new ServerClock({ fetchServerTime, localNow: () => vt.now(), wallNow: () => vt.now(), timers: vt });
  clock.start();
  await vt.advance(1000);
  assert.equal(clock.synced, false);
  assert.equal(calls, CLOCK_BURST_SAMPLES);
  fail = false;
  /* Early bursts 2 s, 5 s and 10 s after the previous ones, then every 30 s. */
  let bursts = 1;
  for (const gap of [...CLOCK_EARLY_REFRESH_MS, CLOCK_REFRESH_MS, CLOCK_REFRESH_MS]) {
    await vt.advance(gap + 1000); /* the gap counts from the end of a burst */
    bursts++;
    assert.equal(calls, bursts * CLOCK_BURST_SAMPLES, `after a gap of ${gap} ms`);
  }
  assert.equal(clock.synced, true);
  assert.ok(Math.abs(clock.now() - server.now()) <= 5);
  clock.stop();
  await vt.advance(CLOCK_REFRESH_MS * 3);
  assert.equal(calls, bursts * CLOCK_BURST_SAMPLES);
});

test('a response timestamp taken at header arrival replaces the late t1', async () => {
  const vt = new VirtualTime();
  const skew = 4000;
  /* 2 ms each way, but the body is parsed 80 ms later on a busy main thread. */
  const server = fakeServer(vt, { up: 2, down: 2 });
  const fetchServerTime = async () => {
    const now = await server.fetchTime();
    const receivedAt = vt.now() + skew;
    await new Promise((r) => vt.setTimeout(r, 80));
    return { now, receivedAt };
  };
  const clock = new ServerClock({ fetchServerTime, localNow: () => vt.now() + skew, timers: vt, burst: 1 });
  const p = clock.sync();
  await vt.advance(500);
  await p;
  assert.equal(clock.best.rtt, 4);
  assert.ok(Math.abs(clock.now() - server.now()) <= 2);
});
