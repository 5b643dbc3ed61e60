/*
 * YouTube adapter (kind 'youtube') on the IFrame Player API, loaded from
 * https://www.youtube.com/iframe_api (allowed by the CSP). Where YouTube is
 * unreachable (offline machines, blocked networks) load() rejects with a
 * message for the user after YT_LOAD_TIMEOUT_MS at most.
 *
 * YouTube only offers a few fixed rates, so fineRate is false and the sync
 * engine corrects by seeking only. getCurrentTime() is coarse (it advances
 * in steps), so the engine's thresholds for such players are wider.
 */
import { Emitter, loadScript } from './util.js';

export const YT_API = 'https://www.youtube.com/iframe_api';
export const YT_LOAD_TIMEOUT_MS = 8000;
/* play() that has not started after this long is taken as blocked autoplay. */
export const YT_PLAY_CHECK_MS = 1500;
/* A seek that has not settled after this long is taken as done. */
export const YT_SEEK_MAX_MS = 3000;

const YT_STATE = { UNSTARTED: -1, ENDED: 0, PLAYING: 1, PAUSED: 2, BUFFERING: 3, CUED: 5 };

let apiPromise = null;

/* Resolves with window.YT once the API is ready; rejects if it cannot load. */
export function loadYouTubeApi() {
  if (globalThis.YT && globalThis.YT.Player) return Promise.resolve(globalThis.YT);
  if (apiPromise) return apiPromise;
  apiPromise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(), YT_LOAD_TIMEOUT_MS);
    const fail = () => {
      clearTimeout(timer);
      apiPromise = null;
      reject(new Error('The YouTube player could not be loaded (www.youtube.com is unreachable or blocked here).'));
    };
    const prev = globalThis.onYouTubeIframeAPIReady;
    globalThis.onYouTubeIframeAPIReady = () => {
      clearTimeout(timer);
      if (typeof prev === 'function') prev();
      resolve(globalThis.YT);
    };
    loadScript(YT_API, YT_LOAD_TIMEOUT_MS).catch(fail);
  });
  return apiPromise;
}

export class YouTubePlayer extends Emitter {
  constructor(container, video) {
    super();
    this.kind = 'youtube';
    this.fineRate = false;
    this.video = video;
    this.ready = false;
    this.yt = null;
    this.state = YT_STATE.UNSTARTED;
    this.seekingUntil = 0;
    this.wrap = document.createElement('div');
    this.wrap.className = 'wnc-video-media wnc-video-youtube';
    const host = document.createElement('div');
    this.wrap.appendChild(host);
    this.host = host;
    this.element = this.wrap;
    container.appendChild(this.wrap);
  }

  async load() {
    if (!this.video.videoId) throw new Error('This YouTube address has no video id.');
    const YT = await loadYouTubeApi();
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('The YouTube player did not start in time.')), YT_LOAD_TIMEOUT_MS * 2);
      this.yt = new YT.Player(this.host, {
        videoId: this.video.videoId,
        width: '100%',
        height: '100%',
        playerVars: { controls: 0, disablekb: 1, playsinline: 1, rel: 0, modestbranding: 1, fs: 0, origin: location.origin },
        events: {
          onReady: () => {
            clearTimeout(timer);
            this.ready = true;
            this.emit('ready');
            resolve();
          },
          onStateChange: (e) => this.onState(e.data),
          onError: (e) => {
            const msg = e.data === 101 || e.data === 150 ? 'The owner of this YouTube video does not allow embedding.' : 'YouTube could not play this video.';
            clearTimeout(timer);
            if (!this.ready) reject(new Error(msg));
            else this.emit('error', new Error(msg));
          },
        },
      });
    });
  }

  onState(s) {
    const was = this.state;
    this.state = s;
    if (s === YT_STATE.BUFFERING && was === YT_STATE.PLAYING && !this.seeking) this.emit('waiting');
    /* A seek is over once the player settles in a playing, paused or cued state. */
    if (this.seeking && (s === YT_STATE.PLAYING || s === YT_STATE.PAUSED || s === YT_STATE.CUED)) {
      this.seekingUntil = 0;
      this.emit('seeked');
    }
    if (s === YT_STATE.PLAYING) this.emit('playing');
    if (s === YT_STATE.PAUSED) this.emit('pause');
    if (s === YT_STATE.ENDED) this.emit('ended');
  }

  get currentTime() {
    return this.yt && this.yt.getCurrentTime ? this.yt.getCurrentTime() : 0;
  }
  /* The video's title, once the IFrame API knows it ('' until then). */
  get title() {
    const data = this.yt && this.yt.getVideoData ? this.yt.getVideoData() : null;
    return data && typeof data.title === 'string' ? data.title : '';
  }
  get duration() {
    const d = this.yt && this.yt.getDuration ? this.yt.getDuration() : NaN;
    return d > 0 ? d : NaN;
  }
  get paused() {
    return !(this.state === YT_STATE.PLAYING || this.state === YT_STATE.BUFFERING);
  }
  get seeking() {
    return Date.now() < this.seekingUntil;
  }
  get readyToPlay() {
    return true;
  }
  get buffering() {
    return this.state === YT_STATE.BUFFERING && !this.seeking;
  }
  get rate() {
    return this.yt ? this.yt.getPlaybackRate() : 1;
  }
  get muted() {
    return this.yt ? this.yt.isMuted() : false;
  }
  get volume() {
    return this.yt ? this.yt.getVolume() / 100 : 1;
  }

  play() {
    this.yt.playVideo();
    /* The API does not report blocked autoplay: check that it started. */
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if (this.state === YT_STATE.PLAYING || this.state === YT_STATE.BUFFERING) resolve();
        else {
          const e = new Error('autoplay blocked');
          e.name = 'NotAllowedError';
          reject(e);
        }
      }, YT_PLAY_CHECK_MS);
    });
  }
  pause() {
    this.yt.pauseVideo();
    this.state = YT_STATE.PAUSED;
  }
  seek(s) {
    /* Ended by the next settled state (onState), at the latest after YT_SEEK_MAX_MS. */
    this.seekingUntil = Date.now() + YT_SEEK_MAX_MS;
    this.yt.seekTo(Math.max(0, s), true);
  }
  setRate(r) {
    /* Only the rates YouTube offers; the nearest one. */
    const rates = this.yt.getAvailablePlaybackRates ? this.yt.getAvailablePlaybackRates() : [1];
    let best = rates[0] ?? 1;
    for (const x of rates) if (Math.abs(x - r) < Math.abs(best - r)) best = x;
    this.yt.setPlaybackRate(best);
  }
  setMuted(b) {
    if (b) this.yt.mute();
    else this.yt.unMute();
  }
  setVolume(v) {
    this.yt.setVolume(Math.round(Math.min(1, Math.max(0, v)) * 100));
  }

  destroy() {
    this.ready = false;
    try {
      if (this.yt && this.yt.destroy) this.yt.destroy();
    } catch {
      /* The iframe may already be gone. */
    }
    this.wrap.remove();
  }
}
