/*
 * The sync engine: makes one player follow the authoritative video state.
 *
 * It knows nothing of the DOM: the player is an adapter (web/js/player/),
 * the clock a ServerClock, the timers injectable, so Node tests can drive it
 * with fakes. The video area feeds it every state (setState) and tells it
 * about visibility and user gestures; the engine reports its status through
 * onStatus(status) with status one of
 *   'idle' | 'loading' | 'paused' | 'playing' | 'buffering' | 'blocked' | 'ended'.
 */
import { DriftController, SYNC_DEFAULTS } from './drift.js';
import { expectedPosition, stateKey } from './expected.js';

/* A playing player whose position has not moved for this long is stalled. */
export const STALL_MS = 700;

export class SyncEngine {
  /*
   * player: adapter; clock: ServerClock (or anything with toServer/now/sync);
   * localNow: monotonic ms; timers: {setTimeout, clearTimeout, setInterval,
   * clearInterval}; opts: overrides of SYNC_DEFAULTS.
   */
  constructor({ player, clock, localNow = () => performance.now(), timers = globalThis, opts = {}, onStatus = () => {} }) {
    this.player = player;
    this.clock = clock;
    this.localNow = localNow;
    this.timers = timers;
    this.opts = { ...SYNC_DEFAULTS, ...opts };
    this.onStatus = onStatus;
    this.ctrl = new DriftController(this.opts);
    this.state = null;
    this.key = null;
    this.blocked = false;
    this.buffering = false;
    this.playPending = false;
    this.pausedSeekKey = null;
    this.rateTimer = null;
    this.lastCt = NaN;
    this.lastMoveAt = 0;
    this.status = 'idle';
    this.lastError = NaN;
    this.stats = { seeks: 0, rateChanges: 0, stalls: 0 };
    this.unsubs = [
      player.on('waiting', () => this.onWaiting()),
      player.on('playing', () => this.onPlaying()),
      player.on('seeked', () => this.ctrl.settle(this.localNow())),
      player.on('ready', () => this.tick()),
    ];
    this.interval = timers.setInterval(() => this.tick(), this.opts.tickMs);
  }

  /* New authoritative state (any video.* event, or the room state). */
  setState(video) {
    this.state = video;
    const key = stateKey(video);
    if (key !== this.key) {
      this.key = key;
      this.ctrl.event();
      /* A new trajectory starts at its own base rate, without old nudges. */
      this.clearRateTimer();
      this.ctrl.cancelNudge(this.localNow());
      if (video && this.player.ready) this.setRate(video.rate > 0 ? video.rate : 1);
    }
    this.tick();
  }

  /* The expected position now, for display (seconds). */
  expected() {
    return expectedPosition(this.state, this.clock.now(), this.player.duration);
  }

  /* Tab shown again: timers were throttled, the player may have paused. */
  onVisible() {
    const p = this.clock.sync ? this.clock.sync() : null;
    this.ctrl.event();
    if (p && p.then) p.then(() => this.tick());
    this.tick();
  }

  /*
   * Called from a click handler: play() must run inside the gesture for the
   * browser to allow it, so no awaiting before it.
   */
  userGesture() {
    this.blocked = false;
    if (this.state && this.state.playing) {
      this.playPending = true;
      const p = this.player.play();
      this.ctrl.event();
      Promise.resolve(p).then(
        () => { this.playPending = false; this.tick(); },
        (err) => { this.playPending = false; this.onPlayRejected(err); },
      );
    }
    this.tick();
  }

  destroy() {
    this.timers.clearInterval(this.interval);
    this.clearRateTimer();
    for (const u of this.unsubs) if (typeof u === 'function') u();
    this.unsubs = [];
  }

  /* --- internals --- */

  setStatus(s) {
    if (s !== this.status) {
      this.status = s;
      this.onStatus(s);
    }
  }

  clearRateTimer() {
    if (this.rateTimer !== null) this.timers.clearTimeout(this.rateTimer);
    this.rateTimer = null;
  }

  setRate(rate) {
    /* Coarse players round the rate; asking again would change nothing. */
    const same = Math.abs(this.player.rate - rate) < 1e-9 || (this.player.fineRate === false && rate === this.lastRate);
    if (same) return;
    this.lastRate = rate;
    this.player.setRate(rate);
    this.stats.rateChanges++;
  }

  seek(pos) {
    this.player.seek(pos);
    this.stats.seeks++;
  }

  onWaiting() {
    /* A seek makes the player wait too; that is not a stall. */
    if (!this.state || !this.state.playing || this.player.seeking || this.buffering) return;
    this.buffering = true;
    this.stats.stalls++;
    /* Don't fight a buffering player: back to the base rate and wait. */
    this.clearRateTimer();
    this.ctrl.cancelNudge(this.localNow());
    this.setRate(this.state.rate);
    this.setStatus('buffering');
  }

  onPlaying() {
    if (this.buffering) {
      this.buffering = false;
      /* Resumed after a stall: a new trajectory for us, may seek once. */
      this.ctrl.event();
    }
    this.ctrl.settle(this.localNow());
    this.tick();
  }

  onPlayRejected(err) {
    if (err && err.name === 'NotAllowedError') {
      this.blocked = true;
      this.setStatus('blocked');
    } else {
      /* Not ready yet or aborted by a newer load; the next tick retries. */
    }
  }

  tick() {
    const st = this.state;
    const p = this.player;
    if (!st) return this.setStatus('idle');
    if (!p.ready) return this.setStatus('loading');
    const now = this.localNow();
    const base = st.rate > 0 ? st.rate : 1;

    if (!st.playing) {
      this.clearRateTimer();
      this.ctrl.cancelNudge(now);
      this.buffering = false;
      this.setRate(base);
      if (!p.paused) p.pause();
      /* Once per state: land exactly on the paused position. */
      if (this.pausedSeekKey !== this.key && !p.seeking) {
        const target = expectedPosition(st, 0, p.duration);
        if (Math.abs(p.currentTime - target) > this.opts.pausedTolerance) this.seek(target);
        this.pausedSeekKey = this.key;
      }
      this.lastError = p.currentTime - expectedPosition(st, 0, p.duration);
      return this.setStatus('paused');
    }
    this.pausedSeekKey = null;

    const expected = expectedPosition(st, this.clock.toServer(now), p.duration);
    const dur = p.duration;
    if (Number.isFinite(dur) && dur > 0 && expected >= dur - 0.05) {
      this.clearRateTimer();
      this.setRate(base);
      return this.setStatus('ended');
    }

    if (this.blocked) return this.setStatus('blocked');
    if (p.paused) {
      if (!this.playPending) {
        this.playPending = true;
        this.setRate(base);
        Promise.resolve(p.play()).then(
          () => { this.playPending = false; },
          (err) => { this.playPending = false; this.onPlayRejected(err); },
        );
      }
      return this.setStatus('loading');
    }

    /* Stall detection for players that don't say they are waiting. */
    const ct = p.currentTime;
    if (ct !== this.lastCt || p.seeking) {
      this.lastCt = ct;
      this.lastMoveAt = now;
    } else if (!this.buffering && now - this.lastMoveAt > STALL_MS) {
      this.onWaiting();
    }
    if (p.seeking || p.buffering || this.buffering) {
      if (!p.seeking && !p.buffering && this.buffering && now - this.lastMoveAt < this.opts.tickMs * 2) {
        /* Moving again without a 'playing' event. */
        this.onPlaying();
      }
      return this.setStatus(p.seeking ? 'playing' : 'buffering');
    }
    this.setStatus('playing');

    const err = ct - expected;
    this.lastError = err;
    /* A clock that did not move since the last tick is starting or stalling. */
    if (ct === this.prevTickCt) return;
    this.prevTickCt = ct;
    if (this.rateTimer !== null) return;
    /* Without a nudge in progress the player runs at the base rate. */
    if (!this.ctrl.nudge) this.setRate(base);
    const d = this.ctrl.decide(err, now, base, p.fineRate !== false);
    if (d.type === 'seek') {
      this.setRate(base);
      this.seek(expected + d.lead * base);
    } else if (d.type === 'rate') {
      const delay = d.at !== undefined ? d.at - now : 0;
      if (delay > 1) {
        this.rateTimer = this.timers.setTimeout(() => {
          this.rateTimer = null;
          this.setRate(d.rate);
        }, delay);
      } else {
        this.setRate(d.rate);
      }
    }
  }
}
