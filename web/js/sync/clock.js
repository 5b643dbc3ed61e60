/*
 * Server clock estimation (DESIGN §5).
 *
 * NTP-style exchange against GET /api/time: the client notes its local
 * monotonic time t0, asks the server for its epoch milliseconds, notes t1 on
 * arrival. Assuming the server read its clock half-way through the round
 * trip, offset = server - (t0 + t1) / 2, with an error bounded by rtt / 2.
 * The sample with the smallest round trip therefore has the smallest error
 * bound, so we keep the best one of several, penalising old samples a little
 * because the two clocks drift apart slowly.
 *
 * Pure maths and injectable time sources: no DOM, runs in Node and browsers.
 */

/* How many /api/time exchanges one sync burst makes. */
export const CLOCK_BURST_SAMPLES = 8;
/* Pause between exchanges of a burst, so one network hiccup does not spoil all. */
export const CLOCK_BURST_GAP_MS = 40;
/* A periodic refresh burst every ... */
export const CLOCK_REFRESH_MS = 30000;
/*
 * ...and a few early ones: a page that is still loading answers late, which
 * inflates the first round trips; later bursts usually find a tighter one.
 */
export const CLOCK_EARLY_REFRESH_MS = [2000, 5000, 10000];
/* Samples older than this are forgotten. */
export const CLOCK_SAMPLE_MAX_AGE_MS = 10 * 60 * 1000;
/*
 * Age penalty when comparing samples: 1e-4 ms per ms (100 ppm) is a generous
 * bound on the rate difference between two crystal clocks.
 */
export const CLOCK_AGE_PENALTY = 1e-4;
/* Samples with a round trip longer than this are useless (error > 2.5 s). */
export const CLOCK_MAX_RTT_MS = 5000;

/*
 * One exchange: t0 and t1 are local monotonic ms at send and receive,
 * serverNow the server's epoch ms. Returns {offset, rtt, at} or null when the
 * sample is impossible (negative or huge round trip, non-finite numbers).
 */
export function clockSample(t0, serverNow, t1) {
  if (![t0, serverNow, t1].every(Number.isFinite)) return null;
  const rtt = t1 - t0;
  if (rtt < 0 || rtt > CLOCK_MAX_RTT_MS) return null;
  return { offset: serverNow - (t0 + t1) / 2, rtt, at: t1 };
}

/*
 * The sample with the lowest rtt + age * penalty at local time now, or null
 * for an empty list.
 */
export function bestClockSample(samples, now, penalty = CLOCK_AGE_PENALTY) {
  let best = null;
  let bestScore = Infinity;
  for (const s of samples) {
    const score = s.rtt + Math.max(0, now - s.at) * penalty;
    if (score < bestScore) {
      bestScore = score;
      best = s;
    }
  }
  return best;
}

/*
 * ServerClock keeps an estimate of server time.
 *   fetchServerTime: async () => server epoch ms (GET /api/time .now), or
 *     {now, receivedAt} with receivedAt the localNow() when the response
 *     headers arrived: taking t1 there, before the body is parsed, keeps a
 *     busy main thread out of the round trip.
 *   localNow: () => local monotonic ms (performance.now in browsers)
 * now() answers server epoch ms; before the first successful sample it falls
 * back to the local wall clock (Date.now), which is the best guess we have.
 */
export class ServerClock {
  constructor({
    fetchServerTime,
    localNow = () => performance.now(),
    wallNow = () => Date.now(),
    burst = CLOCK_BURST_SAMPLES,
    gapMs = CLOCK_BURST_GAP_MS,
    refreshMs = CLOCK_REFRESH_MS,
    earlyRefreshMs = CLOCK_EARLY_REFRESH_MS,
    timers = globalThis,
  }) {
    this.earlyRefreshMs = earlyRefreshMs;
    this.fetchServerTime = fetchServerTime;
    this.localNow = localNow;
    this.wallNow = wallNow;
    this.burst = burst;
    this.gapMs = gapMs;
    this.refreshMs = refreshMs;
    this.timers = timers;
    this.samples = [];
    this.best = null;
    this.refreshTimer = null;
    this.running = null;
    this.stopped = false;
  }

  /* True once at least one exchange succeeded. */
  get synced() {
    return this.best !== null;
  }

  /* Current offset (server epoch ms - local monotonic ms), or null. */
  get offset() {
    return this.best ? this.best.offset : null;
  }

  /* Error bound of the current estimate in ms (rtt / 2), or Infinity. */
  get uncertainty() {
    return this.best ? this.best.rtt / 2 : Infinity;
  }

  /* Server epoch ms now. */
  now() {
    if (!this.best) return this.wallNow();
    return this.localNow() + this.best.offset;
  }

  /* Converts a local monotonic time to server epoch ms. */
  toServer(local) {
    if (!this.best) return this.wallNow() + (local - this.localNow());
    return local + this.best.offset;
  }

  /* Records one exchange; returns the sample or null if rejected. */
  addSample(t0, serverNow, t1) {
    const s = clockSample(t0, serverNow, t1);
    if (!s) return null;
    const now = this.localNow();
    this.samples.push(s);
    this.samples = this.samples.filter((x) => now - x.at <= CLOCK_SAMPLE_MAX_AGE_MS);
    this.best = bestClockSample(this.samples, now);
    return s;
  }

  /*
   * One burst of exchanges. Concurrent callers share the running burst.
   * Resolves true when at least one exchange succeeded; never rejects.
   */
  sync() {
    if (this.running) return this.running;
    this.running = (async () => {
      let ok = false;
      for (let i = 0; i < this.burst && !this.stopped; i++) {
        if (i > 0) await new Promise((r) => this.timers.setTimeout(r, this.gapMs));
        const t0 = this.localNow();
        try {
          const r = await this.fetchServerTime();
          let t1 = this.localNow();
          let server = r;
          if (r && typeof r === 'object') {
            server = r.now;
            if (Number.isFinite(r.receivedAt) && r.receivedAt >= t0 && r.receivedAt <= t1) t1 = r.receivedAt;
          }
          if (this.addSample(t0, server, t1)) ok = true;
        } catch {
          /* A failed exchange is just a missing sample. */
        }
      }
      this.running = null;
      return ok;
    })();
    return this.running;
  }

  /* Syncs now and every refreshMs until stop(). */
  start() {
    this.stopped = false;
    let round = 0;
    const loop = async () => {
      await this.sync();
      if (this.stopped) return;
      const early = this.earlyRefreshMs[round++];
      this.refreshTimer = this.timers.setTimeout(loop, early ?? this.refreshMs);
    };
    return loop();
  }

  stop() {
    this.stopped = true;
    if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }
}
