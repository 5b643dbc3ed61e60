/*
 * Pure analysis of the benchmark's samples. All times are real epoch ms on
 * the server's clock; errors are in seconds (player minus expected).
 */
import { expectedPosition } from '../../web/js/sync/expected.js';

/* Milliseconds after an event before samples count as steady state. */
export const STEADY_AFTER_MS = 2500;
/* "Converged" means within this many seconds of the expected position. */
export const CONVERGED_S = 0.1;

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const a = [...values].sort((x, y) => x - y);
  const i = Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1));
  return a[i];
}

/* The state in force at time t: the last one stamped at or before t. */
export function stateAt(timeline, t) {
  let s = null;
  for (const x of timeline) {
    if (x.video.updatedAt <= t) s = x;
    else break;
  }
  return s;
}

/*
 * Errors for raw page samples [t, currentTime, rate, paused] against the
 * timeline [{name, video}] (sorted by updatedAt). Returns [{t, err, state}].
 */
export function errors(samples, timeline, duration = NaN) {
  const out = [];
  for (const [t, ct, rate, , engineErr] of samples) {
    const s = stateAt(timeline, t);
    if (!s || !Number.isFinite(ct)) continue;
    out.push({ t, err: ct - expectedPosition(s.video, t, duration), state: s, rate, engineErr });
  }
  return out;
}

/*
 * Time from t0 until |err| stays within tol up to `end` (ms), or null if it
 * never settles. Needs at least one sample after t0.
 */
export function convergence(errs, t0, end, tol = CONVERGED_S) {
  let since = null;
  let any = false;
  for (const e of errs) {
    if (e.t < t0 || e.t >= end) continue;
    any = true;
    if (Math.abs(e.err) <= tol) since ??= e.t;
    else since = null;
  }
  return any && since !== null ? since - t0 : null;
}

/* Time from t0 to the first sample within tol (ms), or null. */
export function firstWithin(errs, t0, end, tol = CONVERGED_S) {
  for (const e of errs) if (e.t >= t0 && e.t < end && Math.abs(e.err) <= tol) return e.t - t0;
  return null;
}

/* Counts page media events of `type` in [from, to). */
export function countEvents(events, type, from, to) {
  return events.filter(([t, ty]) => ty === type && t >= from && t < to).length;
}

/*
 * Per-participant report. windows: [{name, start, end, playing}] (ms); the
 * participant's own join (if late) is a window too; playerAt: when its page
 * first had a <video> element. Returns summary numbers.
 */
export function summarize({ errs, events, windows, joinedAt, playerAt = -Infinity }) {
  const steady = [];
  const perEvent = [];
  let steadyMs = 0;
  let steadyRateChanges = 0;
  for (const w of windows) {
    if (w.end <= joinedAt) continue;
    const start = Math.max(w.start, joinedAt);
    const conv = convergence(errs, start, w.end);
    perEvent.push({
      event: w.name,
      at: start,
      convergeMs: conv,
      firstWithinMs: firstWithin(errs, start, w.end),
      seeks: countEvents(events, 'seeking', start, w.end),
      rateChanges: countEvents(events, 'ratechange', start, w.end),
    });
    if (w.playing) {
      /* A late joiner's page needs time to load before its player exists at all. */
      const from = Math.max(start, playerAt) + STEADY_AFTER_MS;
      const to = w.end - 150; /* the next event's own delivery lag */
      if (to > from) {
        steadyMs += to - from;
        steadyRateChanges += countEvents(events, 'ratechange', from, to);
        for (const e of errs) if (e.t >= from && e.t < to) steady.push(Math.abs(e.err));
      }
    }
  }
  return {
    steadySamples: steady.length,
    medianMs: round(percentile(steady, 50) * 1000),
    p95Ms: round(percentile(steady, 95) * 1000),
    maxMs: round(steady.reduce((m, x) => Math.max(m, x), -Infinity) * 1000),
    steadySeconds: round(steadyMs / 1000),
    steadyRateChangesPerMin: steadyMs > 0 ? round((steadyRateChanges * 60000) / steadyMs) : null,
    seeks: countEvents(events, 'seeking', -Infinity, Infinity),
    rateChanges: countEvents(events, 'ratechange', -Infinity, Infinity),
    stalls: countEvents(events, 'waiting', -Infinity, Infinity),
    perEvent,
  };
}

function round(x, digits = 1) {
  if (!Number.isFinite(x)) return null;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
