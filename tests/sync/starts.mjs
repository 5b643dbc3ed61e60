/*
 * How far apart viewers start a scheduled start (issue 17): after an
 * auto-advance to the next queue item, and after a wait for everyone ends,
 * the room plays `position` from `updatedAt` (a server time in the future).
 * From each page's samples (server-clock ms, currentTime, rate, paused) just
 * after that instant, each sample moving past the position dates the page's
 * own start: t - (currentTime - position) / rate. The page's start is the
 * median of those; the spread is the latest start minus the earliest.
 */
import { percentile } from './analyze.mjs';

/* Samples from this long after the start (a player needs a frame or two to move) ... */
export const START_FROM_MS = 150;
/* ... to this long after it (before drift correction changes the picture). */
export const START_TO_MS = 1200;

/*
 * pages: [{name, samples: [[t, ct, rate, paused], ...]}]; video: the scheduled state
 * {position, rate, updatedAt}. Returns {starts: {name: ms after updatedAt | null}, spreadMs}.
 */
export function startSpread(pages, video) {
  const starts = {};
  for (const { name, samples } of pages) {
    const est = [];
    for (const [t, ct, rate, paused] of samples) {
      if (paused || !Number.isFinite(ct) || t < video.updatedAt + START_FROM_MS || t > video.updatedAt + START_TO_MS) continue;
      if (ct <= video.position + 0.02) continue;
      est.push(t - ((ct - video.position) / (rate > 0 ? rate : video.rate)) * 1000 - video.updatedAt);
    }
    starts[name] = est.length ? Math.round(percentile(est, 50) * 10) / 10 : null;
  }
  const known = Object.values(starts).filter((x) => x !== null);
  const spreadMs = known.length === pages.length && known.length > 0 ? Math.round((Math.max(...known) - Math.min(...known)) * 10) / 10 : null;
  return { starts, spreadMs };
}
