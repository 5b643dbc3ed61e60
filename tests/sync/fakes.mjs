/*
 * Virtual-time fakes for the sync engine's Node tests: a scheduler, a media
 * player whose clock runs on virtual time with realistic seek and start
 * latencies, and a server clock with skew and asymmetric network delay.
 */

/* Virtual time: timers fire only when advance() moves the clock past them. */
export class VirtualTime {
  constructor(start = 1000) {
    this.t = start;
    this.queue = [];
    this.nextId = 1;
  }
  now() {
    return this.t;
  }
  setTimeout(fn, ms = 0) {
    const id = this.nextId++;
    this.queue.push({ id, at: this.t + Math.max(0, ms), fn, every: 0 });
    return id;
  }
  setInterval(fn, ms) {
    const id = this.nextId++;
    this.queue.push({ id, at: this.t + ms, fn, every: ms });
    return id;
  }
  clearTimeout(id) {
    this.queue = this.queue.filter((q) => q.id !== id);
  }
  clearInterval(id) {
    this.clearTimeout(id);
  }
  /* Runs every timer due up to now + ms, in order, letting promises settle. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.queue.sort((a, b) => a.at - b.at || a.id - b.id);
      const q = this.queue[0];
      if (!q || q.at > end) break;
      this.t = q.at;
      if (q.every) q.at += q.every;
      else this.queue.shift();
      q.fn();
    }
    this.t = end;
    await flush();
  }
}

async function flush() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/*
 * A media player on virtual time. Position advances at `rate` while playing
 * and not seeking/buffering. seekMs: how long a seek takes (position holds at
 * the target meanwhile); startMs: delay between play() and the clock moving;
 * rateDrift: the media clock's own rate error (e.g. 50e-6).
 */
export class FakePlayer {
  constructor(vt, { duration = 600, seekMs = 80, startMs = 40, rateDrift = 0, autoplay = true, noise = 0, rand = Math.random } = {}) {
    this.vt = vt;
    this.duration = duration;
    this.seekMs = seekMs;
    this.startMs = startMs;
    this.rateDrift = rateDrift;
    this.autoplay = autoplay;
    this.noise = noise;
    this.rand = rand;
    this.ready = true;
    this.fineRate = true;
    this.pos = 0;
    this.rate = 1;
    this.paused = true;
    this.seeking = false;
    this.buffering = false;
    this.runningSince = null; /* virtual ms when the clock started moving */
    this.handlers = {};
    this.log = [];
  }
  on(type, fn) {
    (this.handlers[type] ||= []).push(fn);
    return () => (this.handlers[type] = this.handlers[type].filter((f) => f !== fn));
  }
  emit(type) {
    for (const f of this.handlers[type] || []) f();
  }
  /* Folds the elapsed running time into pos. */
  fold() {
    if (this.runningSince !== null) {
      this.pos += ((this.vt.now() - this.foldedAt) / 1000) * this.rate * (1 + this.rateDrift);
      this.foldedAt = this.vt.now();
    }
  }
  get currentTime() {
    this.fold();
    return this.pos + (this.noise ? (this.rand() * 2 - 1) * this.noise : 0);
  }
  setRate(r) {
    this.fold();
    this.rate = r;
    this.log.push({ t: this.vt.now(), op: 'rate', r });
  }
  run(afterMs) {
    this.runningSince = null;
    this.foldedAt = null;
    this.vt.setTimeout(() => {
      if (!this.paused && !this.seeking && !this.buffering) {
        this.runningSince = this.vt.now();
        this.foldedAt = this.vt.now();
        this.emit('playing');
      }
    }, afterMs);
  }
  play() {
    this.log.push({ t: this.vt.now(), op: 'play' });
    if (!this.autoplay) {
      const e = new Error('blocked');
      e.name = 'NotAllowedError';
      return Promise.reject(e);
    }
    if (this.paused) {
      this.paused = false;
      this.run(this.startMs);
    }
    return Promise.resolve();
  }
  pause() {
    this.fold();
    this.paused = true;
    this.runningSince = null;
    this.log.push({ t: this.vt.now(), op: 'pause' });
  }
  seek(s) {
    this.fold();
    this.pos = s;
    this.seeking = true;
    this.runningSince = null;
    this.log.push({ t: this.vt.now(), op: 'seek', s });
    this.vt.setTimeout(() => {
      this.seeking = false;
      this.emit('seeked');
      if (!this.paused) this.run(0);
    }, this.seekMs);
  }
  /* Simulates a network stall of ms. */
  stall(ms) {
    this.fold();
    this.buffering = true;
    this.runningSince = null;
    this.emit('waiting');
    this.vt.setTimeout(() => {
      this.buffering = false;
      if (!this.paused) this.run(0);
    }, ms);
  }
}

/*
 * A server on virtual time: the client's clock is vt.now() + skew, the
 * server's is vt.now() (+ epoch). fetchTime() models a request with up/down
 * one-way delays (ms, or functions returning ms).
 */
export function fakeServer(vt, { epoch = 1.7e12, up = 5, down = 5 } = {}) {
  const val = (x) => (typeof x === 'function' ? x() : x);
  return {
    now: () => epoch + vt.now(),
    fetchTime: () =>
      new Promise((resolve) => {
        vt.setTimeout(() => {
          const server = epoch + vt.now();
          vt.setTimeout(() => resolve(server), val(down));
        }, val(up));
      }),
  };
}
