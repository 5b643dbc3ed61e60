/*
 * HTML5 <video> adapter (kind 'file'; also the base of the HLS adapter).
 * No native controls: playback is driven by the room state only.
 */
import { Emitter } from './util.js';

/* How long to wait for metadata before calling the media unplayable. */
export const HTML5_LOAD_TIMEOUT_MS = 20000;
/* Seconds of media buffered ahead that count as ready to start after a seek. */
export const READY_AHEAD_S = 2;

const MEDIA_ERRORS = {
  1: 'loading was aborted',
  2: 'a network error interrupted the download',
  3: 'the media could not be decoded',
  4: 'the format or address is not supported',
};

export class Html5Player extends Emitter {
  constructor(container, video) {
    super();
    this.kind = 'file';
    this.fineRate = true;
    this.video = video;
    this.ready = false;
    this.buffering = false;
    const el = document.createElement('video');
    el.className = 'wnc-video-media';
    el.playsInline = true;
    el.preload = 'auto';
    el.controls = false;
    el.disableRemotePlayback = true;
    /* Keep pitch when nudging the rate by a few percent. */
    el.preservesPitch = true;
    this.el = el;
    this.element = el;
    container.appendChild(el);
    const on = (type, fn) => el.addEventListener(type, fn);
    on('waiting', () => {
      if (!el.paused && !el.seeking) {
        this.buffering = true;
        this.emit('waiting');
      }
    });
    on('playing', () => {
      this.buffering = false;
      this.emit('playing');
    });
    on('seeked', () => this.emit('seeked'));
    on('pause', () => this.emit('pause'));
    on('ended', () => this.emit('ended'));
    on('timeupdate', () => this.emit('time'));
    on('canplay', () => {
      if (this.buffering) {
        this.buffering = false;
        if (!el.paused) this.emit('playing');
      }
    });
  }

  /* Points the element at the media; resolves once metadata is known. */
  load() {
    return this.waitForMetadata(() => {
      this.el.src = this.video.url;
    });
  }

  waitForMetadata(start) {
    const el = this.el;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('The video did not load in time (check the address).')), HTML5_LOAD_TIMEOUT_MS);
      const onMeta = () => done(null);
      const onError = () => {
        const code = el.error ? el.error.code : 0;
        if (this.loadError) return done(this.loadError);
        done(new Error(`The video could not be played: ${MEDIA_ERRORS[code] || 'unknown error'}.`));
      };
      const done = (err) => {
        clearTimeout(timer);
        el.removeEventListener('loadedmetadata', onMeta);
        el.removeEventListener('error', onError);
        if (err) return reject(err);
        this.ready = true;
        el.addEventListener('error', () => this.emit('error', new Error('Playback error.')));
        this.emit('ready');
        resolve();
      };
      el.addEventListener('loadedmetadata', onMeta);
      el.addEventListener('error', onError);
      try {
        start();
      } catch (err) {
        done(err);
      }
    });
  }

  get currentTime() {
    return this.el.currentTime;
  }
  get duration() {
    const d = this.el.duration;
    return Number.isFinite(d) ? d : NaN;
  }
  get paused() {
    return this.el.paused;
  }
  get seeking() {
    return this.el.seeking;
  }
  /*
   * Enough data to start without stalling soon after: the browser thinks it
   * can play through (HAVE_ENOUGH_DATA), or READY_AHEAD_S are buffered.
   */
  get readyToPlay() {
    const el = this.el;
    if (el.readyState >= 4) return true;
    if (el.readyState < 3) return false;
    const t = el.currentTime;
    for (let i = 0; i < el.buffered.length; i++) {
      if (el.buffered.start(i) <= t + 0.05 && el.buffered.end(i) >= t + READY_AHEAD_S) return true;
    }
    return false;
  }
  get rate() {
    return this.el.playbackRate;
  }
  get muted() {
    return this.el.muted;
  }
  get volume() {
    return this.el.volume;
  }

  play() {
    return this.el.play();
  }
  pause() {
    this.el.pause();
  }
  seek(s) {
    this.el.currentTime = Math.max(0, s);
  }
  setRate(r) {
    this.el.playbackRate = r;
  }
  setMuted(b) {
    this.el.muted = b;
  }
  setVolume(v) {
    this.el.volume = Math.min(1, Math.max(0, v));
  }

  destroy() {
    this.ready = false;
    this.el.pause();
    this.el.removeAttribute('src');
    try {
      this.el.load();
    } catch {
      /* Detaching media from a dying element may throw; nothing to free. */
    }
    this.el.remove();
  }
}
