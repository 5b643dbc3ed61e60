/*
 * The video area in real browsers against the private stack: the host sets a
 * file video through the UI and plays it; a guest whose clock is 4 s off
 * follows; a seek lands with one seek; pause stops on the position; guests
 * cannot control; an unreachable YouTube fails with a clear message.
 * Measured against the server's state and clock (same machine), never the
 * guest's skewed clock.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startStack } from '../lib/stack.mjs';
import { testVideo, startMediaServer } from '../sync/media.mjs';
import { expectedPosition } from '../../web/js/sync/expected.js';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'];
/* Generous: the test machine is shared; bench-sync measures the real figures. */
const TOLERANCE_S = 0.2;

/* Skews Date.now/performance.now and records media events with the real clock. */
const INIT = (skew) => `(() => {
  const realDate = Date.now;
  const realPerf = performance.now.bind(performance);
  if (${skew}) {
    Date.now = () => realDate() + ${skew};
    performance.now = () => realPerf() + ${skew};
  }
  const events = [];
  for (const t of ['seeking', 'ratechange', 'play', 'pause']) document.addEventListener(t, (e) => {
    if (e.target instanceof HTMLMediaElement) events.push(t);
  }, true);
  Object.defineProperty(window, '__probe', { value: () => {
    const v = document.querySelector('.wnc-video video');
    return { t: realDate(), ct: v ? v.currentTime : null, paused: v ? v.paused : null, events: events.slice() };
  } });
})();`;

let stack;
let media;
let browser;
let videoUrl;

test.before(async () => {
  const file = await testVideo({ seconds: 60 });
  stack = await startStack({});
  media = await startMediaServer({ '/sync.webm': file });
  videoUrl = `${media.url}/sync.webm`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
});

test.after(async () => {
  await browser?.close();
  await media?.close();
  await stack?.stop();
});

async function api(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(stack.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/* Opens the real room page as an existing member (identity in sessionStorage). */
async function openRoom(roomId, who, skew = 0, extraInit = null) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(15000);
  await context.addInitScript(INIT(skew));
  if (extraInit) await context.addInitScript(extraInit);
  await context.addInitScript(({ key, id }) => sessionStorage.setItem(key, JSON.stringify(id)), {
    key: `wnc:identity:${roomId}`,
    id: { userId: who.userId, token: who.token, name: who.name },
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack.url}/room/${roomId}`);
  await page.locator('.wnc-video').waitFor();
  return { context, page, errors };
}

async function setup(extraInit = null) {
  const host = await api('POST', '/api/rooms', { hostName: 'Hana' });
  const guest = await api('POST', `/api/rooms/${host.roomId}/join`, { userName: 'Gus' });
  const h = await openRoom(host.roomId, { ...host, name: 'Hana' }, 0, extraInit);
  const g = await openRoom(host.roomId, { ...guest, name: 'Gus' }, 4000, extraInit);
  return { roomId: host.roomId, host, guest, h, g };
}

async function roomVideo(roomId, token) {
  return (await api('GET', `/api/rooms/${roomId}`, undefined, token)).room.video;
}

/* Polls the page until its player is within tol of the server state; returns the last error. */
async function waitInSync(page, roomId, token, tol = TOLERANCE_S, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    const video = await roomVideo(roomId, token);
    const p = await page.evaluate(() => window.__probe());
    if (p.ct !== null) {
      last = p.ct - expectedPosition(video, p.t);
      if (Math.abs(last) <= tol) return last;
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`not in sync after ${timeoutMs} ms: last error ${last}`);
}

test('host sets a file video and plays; a skewed guest follows, seeks once, pauses on the spot', async () => {
  const { roomId, host, h, g } = await setup();
  try {
    await g.page.getByText('Waiting for the host to pick a video').waitFor();
    /* Guests cannot control playback. */
    await g.page.locator('.wnc-video-play').click({ force: true });
    await g.page.getByText('Only hosts').waitFor();
    assert.equal(await g.page.getByLabel('Video URL').isVisible(), false);

    await h.page.getByLabel('Video URL').fill(videoUrl);
    await h.page.getByRole('button', { name: 'Set video' }).click();
    for (const x of [h, g]) await x.page.locator('.wnc-video[data-status="paused"]').waitFor();

    await h.page.locator('.wnc-video-play').click();
    for (const x of [h, g]) await x.page.locator('.wnc-video[data-status="playing"]').waitFor();
    const errPlay = await waitInSync(g.page, roomId, host.token);
    assert.ok(Math.abs(errPlay) <= TOLERANCE_S);
    await waitInSync(h.page, roomId, host.token);

    /* Seek through the API: one seek on the guest for the event. */
    const seeksBefore = (await g.page.evaluate(() => window.__probe())).events.filter((e) => e === 'seeking').length;
    await api('POST', `/api/rooms/${roomId}/video/seek`, { position: 30 }, host.token);
    await waitInSync(g.page, roomId, host.token);
    const p = await g.page.evaluate(() => window.__probe());
    assert.ok(p.ct > 29, `guest at ${p.ct}`);
    const seeks = p.events.filter((e) => e === 'seeking').length - seeksBefore;
    assert.equal(seeks, 1, `seeks for one seek event: ${seeks}`);

    /* Pause through the UI: the guest stops on the server's position. */
    await h.page.locator('.wnc-video-play[aria-label="Pause"]').click();
    await g.page.locator('.wnc-video[data-status="paused"]').waitFor();
    const video = await roomVideo(roomId, host.token);
    assert.equal(video.playing, false);
    await g.page.waitForFunction((pos) => {
      const v = document.querySelector('.wnc-video video');
      return v && v.paused && !v.seeking && Math.abs(v.currentTime - pos) < 0.05;
    }, video.position);
    assert.deepEqual([...h.errors, ...g.errors], []);
  } finally {
    await h.context.close();
    await g.context.close();
  }
});

test('a late joiner lands on the running position', async () => {
  const host = await api('POST', '/api/rooms', { hostName: 'Hana' });
  await api('PUT', `/api/rooms/${host.roomId}/video`, { url: videoUrl }, host.token);
  await api('POST', `/api/rooms/${host.roomId}/video/play`, { position: 12 }, host.token);
  const late = await api('POST', `/api/rooms/${host.roomId}/join`, { userName: 'Lou' });
  const l = await openRoom(host.roomId, { ...late, name: 'Lou' }, -3000);
  try {
    await waitInSync(l.page, host.roomId, host.token);
    const p = await l.page.evaluate(() => window.__probe());
    assert.ok(p.ct > 12);
  } finally {
    await l.context.close();
  }
});

test('an unreachable YouTube fails with a clear message', async () => {
  const host = await api('POST', '/api/rooms', { hostName: 'Hana' });
  const h = await openRoom(host.roomId, { ...host, name: 'Hana' });
  /* Whatever the network, the test must not reach the real YouTube. */
  await h.context.route(/youtube\.com|ytimg\.com/, (route) => route.abort('internetdisconnected'));
  try {
    await api('PUT', `/api/rooms/${host.roomId}/video`, { url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ' }, host.token);
    await h.page.locator('.wnc-video-message').getByText('YouTube player could not be loaded').waitFor({ timeout: 15000 });
  } finally {
    await h.context.close();
  }
});

/* Recent Chromium plays HLS natively; hide that so the hls.js path runs. */
const NO_NATIVE_HLS = `(() => {
  const orig = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (t) {
    return /mpegurl/i.test(t) ? '' : orig.call(this, t);
  };
})();`;

test('an HLS stream plays through hls.js and the guest follows', async () => {
  const { testHls } = await import('../sync/media.mjs');
  const hls = await testHls({ seconds: 20 });
  const hlsMedia = await startMediaServer(hls.files);
  const { roomId, host, h, g } = await setup(NO_NATIVE_HLS);
  try {
    await api('PUT', `/api/rooms/${roomId}/video`, { url: `${hlsMedia.url}/hls/index.m3u8` }, host.token);
    for (const x of [h, g]) await x.page.locator('.wnc-video[data-status="paused"]').waitFor();
    const video = await roomVideo(roomId, host.token);
    assert.equal(video.kind, 'hls');
    await api('POST', `/api/rooms/${roomId}/video/play`, { position: 2 }, host.token);
    await waitInSync(g.page, roomId, host.token);
    const p = await g.page.evaluate(() => window.__probe());
    assert.ok(p.ct > 2);
    assert.equal(await g.page.evaluate(() => typeof window.Hls), 'function', 'hls.js was used');
    assert.match(await g.page.evaluate(() => document.querySelector('.wnc-video video').src), /^blob:/);
    assert.deepEqual([...h.errors, ...g.errors], []);
  } finally {
    await h.context.close();
    await g.context.close();
    await hlsMedia.close();
  }
});

/*
 * Chromium's own policy is not deterministic here (a navigation started by
 * Playwright leaves the page with a transient user activation for a few
 * seconds), so the page gets a strict play(): it rejects with
 * NotAllowedError unless called while a trusted click is being dispatched,
 * which is what a blocking browser requires.
 */
const STRICT_AUTOPLAY = `(() => {
  let inClick = false;
  document.addEventListener('click', (e) => {
    if (!e.isTrusted) return;
    inClick = true;
    setTimeout(() => { inClick = false; }, 0);
  }, true);
  const orig = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (!inClick) return Promise.reject(new DOMException('play() needs a user gesture', 'NotAllowedError'));
    HTMLMediaElement.prototype.play = orig;
    return orig.call(this);
  };
})();`;

test('blocked autoplay shows "Click to join playback"; the click joins in sync', async () => {
  const host = await api('POST', '/api/rooms', { hostName: 'Hana' });
  await api('PUT', `/api/rooms/${host.roomId}/video`, { url: videoUrl }, host.token);
  await api('POST', `/api/rooms/${host.roomId}/video/play`, { position: 5 }, host.token);
  const guest = await api('POST', `/api/rooms/${host.roomId}/join`, { userName: 'Gus' });
  const g = await openRoom(host.roomId, { ...guest, name: 'Gus' }, 2500, STRICT_AUTOPLAY);
  try {
    const join = g.page.getByRole('button', { name: 'Click to join playback' });
    await join.waitFor();
    assert.equal(await g.page.evaluate(() => document.querySelector('.wnc-video video').paused), true);
    await join.click();
    await g.page.locator('.wnc-video[data-status="playing"]').waitFor();
    await waitInSync(g.page, host.roomId, host.token);
    assert.equal(await join.isVisible(), false);
    assert.deepEqual(g.errors, []);
  } finally {
    await g.context.close();
  }
});
