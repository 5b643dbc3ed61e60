/*
 * Drift correction decisions (DESIGN §5): pure, no timers, no DOM.
 *
 * The engine feeds one observation per tick: error = player position minus
 * expected position, in seconds (positive = player ahead). The controller
 * answers what to do:
 *   - right after a new trajectory (set/play/seek/rate, join, resume after a
 *     stall, tab shown again) one hard seek if the error is above
 *     eventSeekMin (the engine performs it as "seek ahead, then start on
 *     time", see engine.js, so the seek's own duration does not matter);
 *   - otherwise a gentle nudge: playbackRate = base * (1 -/+ c), c sized so
 *     the error is gone in about nudgeHorizon seconds (between nudgeMin and
 *     nudgeMax), started only when the error leaves the dead band nudgeStart,
 *     stopped exactly when the predicted error reaches zero, never reversed
 *     directly, and followed by a hold during which the dead band is doubled:
 *     this hysteresis is what prevents oscillation;
 *   - a seek in steady state only beyond seekThreshold, at most once per
 *     seekCooldownMs.
 * Players without fine rate control (YouTube only offers a few fixed rates)
 * get seeks only, with their own thresholds.
 */

export const SYNC_DEFAULTS = Object.freeze({
  tickMs: 100,
  /* Observations kept for the error estimate (at one per tick). */
  window: 5,
  /* Observations required before any steady-state decision. */
  minSamples: 3,
  /* After an event: seek when |error| is above this (s). */
  eventSeekMin: 0.1,
  /* Steady state: seek when |error| is above this (s)... */
  seekThreshold: 0.5,
  /* ...but not more often than this. */
  seekCooldownMs: 5000,
  /* Start nudging when |error| leaves this dead band (s). */
  nudgeStart: 0.02,
  /* For this long after a nudge the dead band is doubled. */
  nudgeHoldMs: 2000,
  /* A nudge aims to remove the error in about this many seconds. */
  nudgeHorizon: 1.0,
  nudgeMin: 0.02,
  nudgeMax: 0.1,
  /* Never nudge for longer than this; if the error is not gone, re-evaluate. */
  nudgeMaxMs: 12000,
  /* Paused: seek when further than this from the position (s). */
  pausedTolerance: 0.02,
  /* Seek ahead: initial guess of a seek's duration (ms) and bounds of the lead. */
  seekMsGuess: 250,
  aheadMinMs: 300,
  aheadMaxMs: 4000,
  /* Initial guess of the delay between play() and the clock moving (s). */
  startLatency: 0.06,
  startLatencyMax: 0.3,
  learnGain: 0.6,
  /* Observations to ignore after a seek or play before judging (ms). */
  settleMs: 250,
  /* Seek-only players (no fine rate): thresholds. */
  coarseEventSeekMin: 0.25,
  coarseSeekThreshold: 0.4,
  coarseSeekCooldownMs: 4000,
});

/* Median of a non-empty array of numbers. */
export function median(values) {
  const a = [...values].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/* Nudge size for an error of e seconds: |e| / horizon, clamped. */
export function nudgeSize(e, opts = SYNC_DEFAULTS) {
  return Math.min(opts.nudgeMax, Math.max(opts.nudgeMin, Math.abs(e) / opts.nudgeHorizon));
}

/*
 * DriftController: one per player. All times are local monotonic ms.
 * Decisions returned by decide():
 *   {type: 'none'}
 *   {type: 'seek'}                seek (the engine seeks ahead and starts on time)
 *   {type: 'rate', rate, at?}     set playbackRate (at: local ms when to apply,
 *                                 for exact nudge ends; absent = now)
 */
export class DriftController {
  constructor(opts = {}) {
    this.opts = { ...SYNC_DEFAULTS, ...opts };
    this.samples = [];
    this.nudge = null; /* {sign, c, startedAt} */
    this.nudgeEndedAt = -Infinity;
    this.lastSeekAt = -Infinity;
    this.pendingEvent = true;
    this.settleUntil = -Infinity;
    this.stats = { seeks: 0, rateChanges: 0, nudges: 0 };
  }

  /* A new trajectory: the next decision may seek once. */
  event() {
    this.pendingEvent = true;
    this.samples = [];
  }

  /* Forget the nudge (the engine restored the base rate, e.g. buffering). */
  cancelNudge(now) {
    if (this.nudge) this.nudgeEndedAt = now;
    this.nudge = null;
    this.samples = [];
  }

  /* Observations between now and now + settleMs are ignored. */
  settle(now) {
    this.settleUntil = now + this.opts.settleMs;
    this.samples = [];
  }

  /* The rate actually applied relative to base (signed fraction). */
  nudgeDelta() {
    return this.nudge ? -this.nudge.sign * this.nudge.c : 0;
  }

  /*
   * Error estimate at local time now: each stored observation projected to
   * now along the slope the current nudge imposes, then the median. No lag
   * while nudging, robust to an odd sample.
   */
  estimate(now, baseRate) {
    if (this.samples.length === 0) return NaN;
    const slope = this.nudgeDelta() * baseRate; /* s of error per s */
    return median(this.samples.map((s) => s.err + (slope * (now - s.t)) / 1000));
  }

  /*
   * One tick while the state says playing and the player is playing (not
   * seeking, not buffering). err in seconds, now local ms, baseRate the
   * state's rate, fine = the player supports fine rate control.
   */
  decide(err, now, baseRate = 1, fine = true) {
    const o = this.opts;
    if (!Number.isFinite(err)) return { type: 'none' };

    /* Judge only a player that has been running steadily for a moment. */
    if (now < this.settleUntil) return { type: 'none' };
    if (this.pendingEvent) {
      this.pendingEvent = false;
      const min = fine ? o.eventSeekMin : o.coarseEventSeekMin;
      if (Math.abs(err) > min) return this.seek(now);
    }

    this.samples.push({ t: now, err });
    if (this.samples.length > o.window) this.samples.shift();
    if (this.samples.length < o.minSamples) return { type: 'none' };
    const e = this.estimate(now, baseRate);

    const seekAbove = fine ? o.seekThreshold : o.coarseSeekThreshold;
    const cooldown = fine ? o.seekCooldownMs : o.coarseSeekCooldownMs;
    if (Math.abs(e) > seekAbove && now - this.lastSeekAt >= cooldown) {
      return this.seek(now);
    }
    if (!fine) return { type: 'none' };

    if (this.nudge) {
      const n = this.nudge;
      const speed = n.c * baseRate; /* error removed per second */
      const remainingMs = (Math.sign(e) === n.sign ? Math.abs(e) / speed : 0) * 1000;
      if (remainingMs <= o.tickMs * 1.5 || now - n.startedAt > o.nudgeMaxMs) {
        /* Ends before the next tick would see it: end it exactly on time. */
        const at = now + Math.min(remainingMs, o.tickMs * 1.5);
        this.nudge = null;
        this.nudgeEndedAt = at;
        this.samples = [];
        /* Observations until the rate is back to base would mislead. */
        this.settleUntil = at + o.tickMs / 2;
        this.stats.rateChanges++;
        return { type: 'rate', rate: baseRate, at };
      }
      return { type: 'none' };
    }

    const held = now - this.nudgeEndedAt < o.nudgeHoldMs;
    const band = held ? o.nudgeStart * 2 : o.nudgeStart;
    if (Math.abs(e) > band) {
      const c = nudgeSize(e, o);
      this.nudge = { sign: Math.sign(e), c, startedAt: now };
      this.stats.nudges++;
      this.stats.rateChanges++;
      /* Samples taken at the old rate stay valid: estimate() projects them. */
      this.samples = [{ t: now, err: e }];
      return { type: 'rate', rate: baseRate * (1 - Math.sign(e) * c) };
    }
    return { type: 'none' };
  }

  seek(now) {
    this.lastSeekAt = now;
    this.nudge = null;
    this.samples = [];
    this.stats.seeks++;
    /* The engine calls settle() once the player runs again. */
    this.settleUntil = Infinity;
    return { type: 'seek' };
  }
}
