/*
 * HLS adapter (kind 'hls'): native HLS where the browser has it (Safari,
 * iOS), otherwise hls.js from /vendor/hls.min.js (web/vendor/README.md).
 */
import { Html5Player } from './html5.js';
import { loadScript } from './util.js';

export const HLS_SCRIPT = '/vendor/hls.min.js';

export class HlsPlayer extends Html5Player {
  constructor(container, video) {
    super(container, video);
    this.kind = 'hls';
    this.hls = null;
  }

  async load() {
    const el = this.el;
    if (el.canPlayType('application/vnd.apple.mpegurl')) return super.load();
    try {
      await loadScript(HLS_SCRIPT);
    } catch {
      throw new Error('The HLS player library could not be loaded.');
    }
    const Hls = globalThis.Hls;
    if (!Hls || !Hls.isSupported()) throw new Error('This browser cannot play HLS streams.');
    return this.waitForMetadata(() => {
      const hls = new Hls({ enableWorker: true, lowLatencyMode: false });
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_evt, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR && this.ready) {
          hls.startLoad();
        } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && this.ready) {
          hls.recoverMediaError();
        } else {
          /* Before metadata: fail the load through the element's error path. */
          this.loadError = new Error(`The HLS stream could not be played (${data.details}).`);
          if (this.ready) this.emit('error', this.loadError);
          else el.dispatchEvent(new Event('error'));
        }
      });
      hls.loadSource(this.video.url);
      hls.attachMedia(el);
    });
  }

  destroy() {
    if (this.hls) this.hls.destroy();
    this.hls = null;
    super.destroy();
  }
}
