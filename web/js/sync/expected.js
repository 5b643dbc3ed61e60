/*
 * Where the authoritative video state says the player should be (DESIGN §5).
 *
 * video: {url, kind, videoId, playing, position, rate, updatedAt}; position in
 * seconds at server time updatedAt (ms). While playing, the position advances
 * at `rate` media seconds per second of server time.
 */

/*
 * Expected media position in seconds at server epoch ms serverNow, never
 * below 0 and, when the duration is known, never past it. A serverNow earlier
 * than updatedAt (our clock estimate is a few ms off) is used as is: clamping
 * it would bias the estimate.
 */
export function expectedPosition(video, serverNow, duration = NaN) {
  if (!video) return 0;
  let pos = Number(video.position) || 0;
  if (video.playing) {
    const rate = Number.isFinite(video.rate) && video.rate > 0 ? video.rate : 1;
    pos += ((serverNow - video.updatedAt) / 1000) * rate;
  }
  if (pos < 0) pos = 0;
  if (Number.isFinite(duration) && duration > 0 && pos > duration) pos = duration;
  return pos;
}

/*
 * A key that changes exactly when the state describes a new trajectory
 * (video.set/play/pause/seek/rate). video.sync beacons repeat the same state
 * and therefore the same key.
 */
export function stateKey(video) {
  if (!video) return 'none';
  return [video.url, video.playing ? 1 : 0, video.position, video.rate, video.updatedAt].join('|');
}

/* True when a and b point at the same media (same URL). */
export function sameMedia(a, b) {
  return !!a && !!b && a.url === b.url && a.kind === b.kind;
}
