/*
 * The sync engine: makes one player follow the authoritative video state.
 *
 * It knows nothing of the DOM: the player is an adapter (web/js/player/),
 * the clock a ServerClock, the timers injectable, so Node tests can drive it
 * with fakes. The video area feeds it every state (setState) and tells it
 * about visibility and user gestures; the engine reports its status through
 * onStatus(status) with status one of
 *   'idle' | 'loading' | 'paused' | 'playing' | 'syncing' | 'buffering' |
 *   'blocked' | 'ended'.
 *
 * Seeking while playing is done as "seek ahead, then start on time": pause,
 * seek to where the room will be `ahead` ms from now (ahead > the time a seek
 * takes, learned), and call play() at the instant the room reaches that
 * position, minus the learned start latency. The seek's own duration (a
 * range request, decoding from a key frame) then costs no error at all.
 *
 * A playing state whose updatedAt is still ahead is a scheduled start (the
 * next queue item, the end of a wait for everyone): the player seeks to
 * `position`, holds there, and is started at updatedAt by the same means.
 */
import { DriftController, SYNC_DEFAULTS } from './drift.js';
import { expectedPosition, stateKey } from './expected.js';

/* A playing player whose position has not moved for this long is stalled. */
export const STALL_MS = 700;

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

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
    this.lastRate = NaN;
    this.lastCt = NaN;
    this.prevTickCt = NaN;
    this.lastMoveAt = 0;
    this.status = 'idle';
    this.lastError = NaN;
    /* Seek ahead in progress: {target, phase: 'seeking'|'waiting'|'starting', since, timer}. */
    this.scheduled = null;
    /* Learned: how long a seek takes (ms) and how long play() takes to move the clock (s). */
    this.seekMs = this.opts.seekMsGuess;
    this.startLatency = this.opts.startLatency;
    this.learnStart = false;
    this.stats = { seeks: 0, rateChanges: 0, stalls: 0 };
    this.unsubs = [
      player.on('waiting', () => this.onWaiting()),
      player.on('playing', () => this.onPlaying()),
      player.on('seeked', () => this.tick()),
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
      /* A new trajectory starts at its own base rate, without old plans. */
      this.cancelScheduled();
      this.clearRateTimer();
      this.ctrl.cancelNudge(this.localNow());
      if (video && this.player.ready) this.setRate(video.rate > 0 ? video.rate : 1);
    }
    this.tick();
  }

  /* The expected position now, for display (seconds): a scheduled start shows its position. */
  expected() {
    const st = this.state;
    const pos = expectedPosition(st, this.clock.now(), this.player.duration);
    return st && st.playing ? Math.max(pos, st.position) : pos;
  }

  /* Milliseconds until a scheduled start at local time `local` (<= 0: none, or begun). */
  startsIn(local) {
    const st = this.state;
    return st && st.playing ? st.updatedAt - this.clock.toServer(local) : 0;
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
   * browser to allow it, so nothing is awaited before it.
   */
  userGesture() {
    this.blocked = false;
    if (this.state && this.state.playing) {
      this.cancelScheduled();
      this.playPending = true;
      const p = this.player.play();
      this.ctrl.event();
      Promise.resolve(p).then(
        () => {
          this.playPending = false;
          this.tick();
        },
        (err) => {
          this.playPending = false;
          this.onPlayRejected(err);
        },
      );
    }
    this.tick();
  }

  destroy() {
    this.timers.clearInterval(this.interval);
    this.clearRateTimer();
    this.cancelScheduled();
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

  cancelScheduled() {
    if (this.scheduled && this.scheduled.timer !== null) this.timers.clearTimeout(this.scheduled.timer);
    this.scheduled = null;
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

  /* Server-state position at local time `local` (ms). */
  expectedAt(local) {
    return expectedPosition(this.state, this.clock.toServer(local), this.player.duration);
  }

  /* Pause, seek to where the room will be when the seek is surely done. */
  seekAhead(now) {
    const st = this.state;
    const ahead = clamp(this.seekMs * 1.5 + 150, this.opts.aheadMinMs, this.opts.aheadMaxMs);
    /* Before a scheduled start the room will be at its position, not before it. */
    const target = this.startsIn(now + ahead) > 0 ? st.position : this.expectedAt(now + ahead);
    this.clearRateTimer();
    this.setRate(st.rate > 0 ? st.rate : 1);
    if (!this.player.paused) this.player.pause();
    this.cancelScheduled();
    /* Already there (a scheduled start after a pause on its position): no seek to wait for. */
    const seeks = Math.abs(this.player.currentTime - target) > 1e-3;
    this.scheduled = { target, phase: 'seeking', since: now, timer: null, seeks };
    if (seeks) this.seek(target);
  }

  /* Drives a seek ahead: once the player can play, start it on time. */
  stepScheduled(now) {
    const s = this.scheduled;
    const p = this.player;
    if (s.phase !== 'seeking') return;
    const ready = !p.seeking && p.readyToPlay !== false;
    /* Not ready by the time it should start: start anyway and let drift correction cope. */
    const base = this.state.rate > 0 ? this.state.rate : 1;
    /* Before a scheduled start, count from its instant: the expected position is clamped at 0. */
    const wait = this.startsIn(now);
    const from = wait > 0 ? this.state.position : this.expectedAt(now);
    const untilTarget = Math.max(0, wait) + ((s.target - from) / base) * 1000;
    if (!ready && untilTarget > 0) return;
    if (!p.seeking && s.seeks) this.seekMs = this.seekMs + this.opts.learnGain * (now - s.since - this.seekMs);
    s.phase = 'waiting';
    const delay = untilTarget - this.startLatency * 1000;
    const fire = () => {
      if (this.scheduled !== s) return;
      s.timer = null;
      s.phase = 'starting';
      this.playPending = true;
      Promise.resolve(p.play()).then(
        () => {
          this.playPending = false;
          if (this.scheduled === s) this.scheduled = null;
          this.learnStart = true;
          this.ctrl.settle(this.localNow());
          this.tick();
        },
        (err) => {
          this.playPending = false;
          if (this.scheduled === s) this.scheduled = null;
          this.onPlayRejected(err);
        },
      );
    };
    if (delay > 1) s.timer = this.timers.setTimeout(fire, delay);
    else fire();
  }

  onWaiting() {
    /* A seek makes the player wait too; that is not a stall. */
    if (!this.state || !this.state.playing || this.player.seeking || this.buffering || this.scheduled) return;
    this.buffering = true;
    this.stats.stalls++;
    /* Don't fight a buffering player: back to the base rate and wait. */
    this.clearRateTimer();
    this.ctrl.cancelNudge(this.localNow());
    this.setRate(this.state.rate > 0 ? this.state.rate : 1);
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
    }
    /* Otherwise not ready yet or aborted by a newer load: the next tick retries. */
  }

  tick() {
    const st = this.state;
    const p = this.player;
    if (!st) return this.setStatus('idle');
    if (!p.ready) return this.setStatus('loading');
    const now = this.localNow();
    const base = st.rate > 0 ? st.rate : 1;

    if (!st.playing) {
      this.cancelScheduled();
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

    /* Before the first clock sample, "now" is the local wall clock, which may be seconds off. */
    if (this.clock.synced === false) return this.setStatus('loading');
    const expected = this.expectedAt(now);
    const dur = p.duration;
    if (Number.isFinite(dur) && dur > 0 && expected >= dur - 0.05) {
      this.cancelScheduled();
      this.clearRateTimer();
      this.setRate(base);
      return this.setStatus('ended');
    }
    if (this.blocked) return this.setStatus('blocked');

    if (this.scheduled) {
      this.stepScheduled(now);
      return this.setStatus('syncing');
    }

    if (p.paused) {
      if (this.playPending) return this.setStatus('loading');
      /* Joining mid-playback (or far off), or a scheduled start: seek ahead and start on time. */
      if (Math.abs(p.currentTime - expected) > this.opts.eventSeekMin || this.startsIn(now) > 0) {
        this.ctrl.pendingEvent = false;
        this.ctrl.seek(now);
        this.seekAhead(now);
        return this.setStatus('syncing');
      }
      this.playPending = true;
      this.setRate(base);
      Promise.resolve(p.play()).then(
        () => {
          this.playPending = false;
        },
        (err) => {
          this.playPending = false;
          this.onPlayRejected(err);
        },
      );
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
      return this.setStatus(p.seeking ? 'syncing' : 'buffering');
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

    if (this.learnStart && now >= this.ctrl.settleUntil) {
      /* First settled look after an on-time start: late by -err, so start earlier next time. */
      this.learnStart = false;
      if (Math.abs(err) < this.opts.startLatencyMax) {
        this.startLatency = clamp(this.startLatency - this.opts.learnGain * err, 0, this.opts.startLatencyMax);
      }
    }

    const d = this.ctrl.decide(err, now, base, p.fineRate !== false);
    if (d.type === 'seek') {
      this.seekAhead(now);
      this.setStatus('syncing');
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
