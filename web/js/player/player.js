/*
 * Player adapters: one small interface, three implementations.
 *
 *   const p = await createPlayer(container, video)   // video: {url, kind, videoId}
 *   p.kind                     'file' | 'hls' | 'youtube'
 *   p.fineRate                 true when playbackRate can be nudged by a few %
 *   p.ready                    metadata known: seek/play are meaningful
 *   p.currentTime, p.duration  seconds (duration NaN until known)
 *   p.paused, p.seeking, p.buffering, p.rate, p.muted, p.volume
 *   p.readyToPlay              enough data to start playing without stalling
 *   p.play()                   Promise; rejects with name 'NotAllowedError'
 *                              when the browser wants a user gesture first
 *   p.pause(), p.seek(s), p.setRate(r), p.setMuted(b), p.setVolume(v)
 *   p.on(type, fn) -> off()    'ready' | 'playing' | 'waiting' | 'seeked' |
 *                              'pause' | 'ended' | 'error' | 'time'
 *   p.element                  the DOM element shown (video or iframe host)
 *   p.destroy()                removes the element, frees the media
 *
 * createPlayer rejects with an Error whose message is fit for users when the
 * media or its library cannot be loaded (e.g. YouTube unreachable).
 */
import { Html5Player } from './html5.js';
import { HlsPlayer } from './hls-player.js';
import { YouTubePlayer } from './youtube.js';

export { Emitter, loadScript } from './util.js';

export async function createPlayer(container, video) {
  let p;
  if (video.kind === 'youtube') p = new YouTubePlayer(container, video);
  else if (video.kind === 'hls') p = new HlsPlayer(container, video);
  else p = new Html5Player(container, video);
  try {
    await p.load();
  } catch (err) {
    p.destroy();
    throw err;
  }
  return p;
}
