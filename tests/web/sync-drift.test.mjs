import test from 'node:test';
import assert from 'node:assert/strict';
import { DriftController, SYNC_DEFAULTS, median, nudgeSize } from '../../web/js/sync/drift.js';

const TICK = SYNC_DEFAULTS.tickMs;

test('median and nudge size', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(nudgeSize(0.001), SYNC_DEFAULTS.nudgeMin);
  assert.equal(nudgeSize(0.05), 0.05);
  assert.equal(nudgeSize(-3), SYNC_DEFAULTS.nudgeMax);
});

test('an event far off seeks once; nothing until settled', () => {
  const c = new DriftController();
  const d = c.decide(-12.3, 0);
  assert.deepEqual(d, { type: 'seek' });
  /* Still far off (the seek is in flight): no second seek. */
  for (let t = TICK; t < 3000; t += TICK) assert.equal(c.decide(-12.3, t).type, 'none');
  assert.equal(c.stats.seeks, 1);
});

test('an event close by does not seek but nudges the right way', () => {
  const c = new DriftController();
  let d = c.decide(0.06, 0); /* ahead by 60 ms */
  assert.equal(d.type, 'none');
  d = c.decide(0.06, TICK);
  d = c.decide(0.06, 2 * TICK);
  assert.equal(d.type, 'rate');
  assert.ok(d.rate < 1, 'ahead -> slow down');
  const c2 = new DriftController();
  c2.decide(-0.06, 0);
  c2.decide(-0.06, TICK);
  assert.ok(c2.decide(-0.06, 2 * TICK).rate > 1, 'behind -> speed up');
  const c3 = new DriftController();
  c3.decide(-0.06, 0);
  c3.decide(-0.06, TICK);
  assert.ok(Math.abs(c3.decide(-0.06, 2 * TICK, 2).rate - 2 * (1 + nudgeSize(0.06))) < 1e-12, 'relative to the base rate');
});

test('inside the dead band nothing happens', () => {
  const c = new DriftController();
  for (let t = 0; t < 60000; t += TICK) assert.equal(c.decide(0.9 * SYNC_DEFAULTS.nudgeStart * Math.sin(t / 700), t).type, 'none');
  assert.equal(c.stats.rateChanges, 0);
});

/*
 * Closed loop: the error evolves with the rate the controller sets, plus
 * measurement noise and a slow media clock drift. Runs 60 s of ticks.
 */
function closedLoop({ e0, noise = 0.004, driftPpm = 100, seconds = 60, fine = true, seed = 1 }) {
  const c = new DriftController();
  c.pendingEvent = false;
  let rnd = seed;
  const rand = () => ((rnd = (rnd * 16807) % 2147483647) / 2147483647) * 2 - 1;
  let e = e0;
  let rate = 1;
  let pendingRate = null;
  const errors = [];
  const rateLog = [];
  for (let t = 0; t <= seconds * 1000; t += TICK / 4) {
    if (pendingRate && t >= pendingRate.at) {
      rate = pendingRate.rate;
      pendingRate = null;
      rateLog.push(t);
    }
    e += ((rate - 1 + driftPpm * 1e-6) * TICK) / 4 / 1000;
    if (t % TICK !== 0) continue;
    errors.push({ t, e });
    const d = c.decide(e + noise * rand(), t, 1, fine);
    if (d.type === 'rate') {
      if (d.at !== undefined && d.at > t) pendingRate = { rate: d.rate, at: d.at };
      else {
        rate = d.rate;
        rateLog.push(t);
      }
    } else if (d.type === 'seek') {
      e = 0.01; /* a seek ahead lands close */
      c.settle(t);
    }
  }
  return { c, errors, rateLog, final: e };
}

test('a 300 ms error is removed by one nudge, within ~2 s, without overshoot', () => {
  const { c, errors, rateLog } = closedLoop({ e0: -0.3 });
  assert.equal(c.stats.seeks, 0);
  assert.equal(rateLog.length, 2, `rate changes at ${rateLog}`);
  const settled = errors.filter((x) => x.t >= 3000);
  assert.ok(settled.every((x) => Math.abs(x.e) < SYNC_DEFAULTS.nudgeStart * 2), 'stays in the band');
  assert.ok(Math.abs(errors.find((x) => x.t === 3000).e) < 0.02);
});

test('no oscillation: noise and clock drift cause only a few rate changes a minute', () => {
  for (const seed of [1, 7, 42, 99]) {
    const { c, errors, rateLog } = closedLoop({ e0: 0.08, noise: 0.008, driftPpm: 300, seed });
    assert.equal(c.stats.seeks, 0);
    assert.ok(rateLog.length <= 6, `seed ${seed}: ${rateLog.length} rate changes`);
    const abs = errors.filter((x) => x.t > 2000).map((x) => Math.abs(x.e));
    assert.ok(median(abs) < 0.03, `median ${median(abs)}`);
    assert.ok(Math.max(...abs) < 0.1);
  }
});

test('hysteresis: right after a nudge the dead band is doubled', () => {
  const c = new DriftController();
  c.pendingEvent = false;
  c.nudgeEndedAt = 0;
  const S = SYNC_DEFAULTS.nudgeStart;
  for (let t = 0; t < 1000; t += TICK) assert.equal(c.decide(1.5 * S, t).type, 'none');
  const kinds = [];
  for (let t = 1000; t < 1500; t += TICK) kinds.push(c.decide(3 * S, t).type);
  assert.ok(kinds.includes('rate'));
  const late = new DriftController();
  late.pendingEvent = false;
  late.nudgeEndedAt = 0;
  const lateKinds = [];
  for (let t = 3000; t < 3500; t += TICK) lateKinds.push(late.decide(1.5 * S, t).type);
  assert.ok(lateKinds.includes('rate'), 'after the hold the normal band applies');
});

test('a nudge ends exactly when the predicted error reaches zero', () => {
  const c = new DriftController();
  c.pendingEvent = false;
  let d;
  for (let t = 0; t <= 2 * TICK; t += TICK) d = c.decide(-0.05, t);
  assert.equal(d.type, 'rate');
  const k = d.rate - 1; /* 0.05 -> 5 %: 1 s to remove */
  assert.ok(Math.abs(k - 0.05) < 1e-12);
  /* Feed the true error; expect the stop scheduled at 200 + 1000 ms. */
  let stop = null;
  for (let t = 3 * TICK; t < 3000 && !stop; t += TICK) {
    const e = -0.05 + (k * (t - 2 * TICK)) / 1000;
    const x = c.decide(e, t);
    if (x.type === 'rate') stop = x;
  }
  assert.equal(stop.rate, 1);
  assert.ok(Math.abs(stop.at - 1200) < 1, `stop at ${stop.at}`);
});

test('steady state seeks only beyond the threshold, once per cooldown', () => {
  const c = new DriftController();
  c.pendingEvent = false;
  const seeks = [];
  for (let t = 0; t < 8000; t += TICK) {
    const d = c.decide(0.8, t);
    if (d.type === 'seek') {
      seeks.push(t);
      c.settle(t);
    }
  }
  assert.equal(seeks.length, 2);
  assert.ok(seeks[1] - seeks[0] >= SYNC_DEFAULTS.seekCooldownMs);
  const small = new DriftController();
  small.pendingEvent = false;
  for (let t = 0; t < 8000; t += TICK) assert.notEqual(small.decide(0.45, t).type, 'seek');
});

test('coarse players (YouTube) never get rate nudges', () => {
  const c = new DriftController();
  for (let t = 0; t < 5000; t += TICK) assert.equal(c.decide(0.2, t, 1, false).type, 'none');
  const d = new DriftController();
  assert.equal(d.decide(0.3, 0, 1, false).type, 'seek');
});
