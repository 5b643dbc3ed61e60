/*
 * Watching together in real browsers (issue 17): the Up next queue with
 * auto-advance over two short generated videos (8 s), SRT and VTT subtitles showing
 * cues, wait for everyone with a viewer whose media requests are delayed,
 * reactions seen by the other member, and the autoplay overlay under
 * Chromium's --autoplay-policy=document-user-activation-required, one click
 * of which must also carry the player through an auto-advance.
 * Positions are measured against the server's state and clock (same machine).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, shoot } from './lib/browser.mjs';
import { startStack } from '../lib/stack.mjs';
import { api as client } from '../lib/client.mjs';
import { testVideo, startMediaServer } from '../sync/media.mjs';
import { expectedPosition } from '../../web/js/sync/expected.js';

const SRT = '1\r\n00:00:00,000 --> 00:01:00,000\r\nHello from <b>SRT</b>\r\n\r\n2\r\n00:01:00,000 --> 00:02:00,000\r\nLater\r\n';
const VTT = 'WEBVTT\n\n00:00.000 --> 01:00.000\nHello from VTT\n';
/* Generous: the machine is shared; make bench-sync measures the real figures. */
const TOLERANCE_S = 0.25;

let stack;
let media;
let browser;
let blocked; /* a browser that wants a user gesture before playing */
const url = (name) => `${media.url}/${name}`;

test.before(async () => {
  /* Short, but long enough that a loaded machine still sees each one playing in sync. */
  const [short, long] = await Promise.all([testVideo({ seconds: 8 }), testVideo({ seconds: 60 })]);
  stack = await startStack({ env: { WNC_SYNC_INTERVAL_MS: '1000' } });
  media = await startMediaServer({ '/a.webm': short, '/b.webm': short, '/long.webm': long }, (req, res) => {
    const subs = { '/subs.srt': ['application/x-subrip', SRT], '/subs.vtt': ['text/vtt', VTT] }[req.url];
    if (!subs) return false;
    res.writeHead(200, { 'Content-Type': subs[0], 'Access-Control-Allow-Origin': '*' }).end(subs[1]);
    return true;
  });
  browser = await launchBrowser({ args: ['--autoplay-policy=no-user-gesture-required'] });
  blocked = await launchBrowser({ args: ['--autoplay-policy=document-user-activation-required'] });
});

test.after(async () => {
  await browser?.close();
  await blocked?.close();
  await media?.close();
  await stack?.stop();
});

/* JSON over HTTP as a member; a refusal throws. */
async function api(method, path, body, token) {
  const r = await client(stack.url)(method, path, body, token);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

/*
 * Opens the room page as an existing member (identity in sessionStorage). passive: touch
 * nothing in the page until told: Playwright runs its locator and evaluate scripts with a
 * user gesture, which would unblock autoplay by itself.
 */
async function openRoom(roomId, who, { on = browser, route = null, passive = false } = {}) {
  const context = await on.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(20000);
  await context.addInitScript(({ key, id }) => sessionStorage.setItem(key, JSON.stringify(id)), {
    key: `wnc:identity:${roomId}`,
    id: { userId: who.userId, token: who.token, name: who.name },
  });
  const page = await context.newPage();
  if (route) await page.route(route.match, route.handler);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack.url}/room/${roomId}`);
  if (!passive) await page.locator('.wnc-video').waitFor();
  return { context, page, errors };
}

async function room(guests = ['Bob']) {
  const host = await api('POST', '/api/rooms', { hostName: 'Alice' });
  const members = [];
  for (const name of guests) members.push({ ...(await api('POST', `/api/rooms/${host.roomId}/join`, { userName: name })), name });
  return { roomId: host.roomId, host: { ...host, name: 'Alice' }, guests: members };
}

const state = async (roomId, token) => (await api('GET', `/api/rooms/${roomId}`, undefined, token)).room;

/* The page's player: its media URL, whether it plays, and its error against the room now. */
async function probe(page, roomId, token) {
  const video = (await state(roomId, token)).video;
  const p = await page.evaluate(() => {
    const v = document.querySelector('.wnc-video video');
    return v ? { src: v.currentSrc, ct: v.currentTime, paused: v.paused, t: Date.now() } : null;
  });
  return p && { ...p, error: p.ct - expectedPosition(video, p.t) };
}

async function until(fn, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out: ${what} (last ${JSON.stringify(last)})`);
}

const playing = (page, roomId, token, name) =>
  until(async () => {
    const p = await probe(page, roomId, token);
    return p && p.src.endsWith(name) && !p.paused && Math.abs(p.error) <= TOLERANCE_S && p;
  }, `${name} playing in sync`);

test('queue: add through the UI, remove, and auto-advance to the next video for everyone', async () => {
  const { roomId, host, guests: [bob] } = await room();
  const a = await openRoom(roomId, host);
  const b = await openRoom(roomId, bob);
  try {
    await a.page.getByLabel('Video URL').fill(url('a.webm'));
    await a.page.getByRole('button', { name: 'Set video' }).click();
    for (const name of ['b.webm', 'long.webm']) {
      await a.page.getByLabel('Video URL').fill(url(name));
      await a.page.getByRole('button', { name: 'Add to queue' }).click();
      await b.page.locator('.queue-item', { hasText: name }).waitFor();
    }
    /* Bob sees who added them and cannot move or remove them. */
    await b.page.locator('.queue-item', { hasText: 'b.webm' }).getByText('added by Alice').waitFor();
    assert.equal(await b.page.getByRole('button', { name: 'Remove long.webm' }).count(), 0);
    assert.equal(await b.page.getByRole('button', { name: 'Play next' }).isVisible(), false);
    await a.page.getByRole('button', { name: 'Remove long.webm' }).click();
    await b.page.locator('.queue-item', { hasText: 'long.webm' }).waitFor({ state: 'detached' });
    await shoot(a.page, 'watch-queue-host');

    await a.page.locator('.wnc-video-play').click();
    await playing(b.page, roomId, bob.token, 'a.webm');
    /* a.webm ends after 8 s: the room plays b.webm for everyone, once. */
    const [pa, pb] = await Promise.all([playing(a.page, roomId, host.token, 'b.webm'), playing(b.page, roomId, bob.token, 'b.webm')]);
    assert.ok(Math.abs(pa.error) <= TOLERANCE_S && Math.abs(pb.error) <= TOLERANCE_S);
    await b.page.getByText('Nothing queued').waitFor();
    const s = await state(roomId, host.token);
    assert.equal(s.video.url, url('b.webm'));
    assert.deepEqual(s.queue, []);
    /* And with the queue empty, the end leaves the room paused at the end. */
    await until(async () => !(await state(roomId, host.token)).video.playing, 'paused at the end of b.webm', 15000);
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('subtitles: an SRT and a VTT track show their cues; each viewer turns them off alone', async () => {
  const { roomId, host, guests: [bob] } = await room();
  await api('PUT', `/api/rooms/${roomId}/video`, { url: url('long.webm') }, host.token);
  const a = await openRoom(roomId, host);
  const b = await openRoom(roomId, bob);
  const cue = (page) => page.evaluate(() => {
    const t = document.querySelector('.wnc-video video')?.textTracks[0];
    return t && t.mode === 'showing' && t.activeCues && t.activeCues.length ? t.activeCues[0].text : null;
  });
  try {
    /* Cues become active as the media time moves: play. */
    await api('POST', `/api/rooms/${roomId}/video/play`, { position: 1 }, host.token);
    await a.page.getByLabel('Subtitles URL').fill(url('subs.srt'));
    await a.page.getByLabel('Label').fill('English');
    await a.page.getByLabel('Language').fill('en');
    await a.page.getByRole('button', { name: 'Set subtitles' }).click();
    for (const x of [a, b]) assert.equal(await until(() => cue(x.page), 'the SRT cue'), 'Hello from <b>SRT</b>');
    await shoot(b.page, 'watch-subtitles');
    /* Bob turns them off: only his. */
    await b.page.getByRole('button', { name: 'Subtitles' }).click();
    await until(async () => (await cue(b.page)) === null, 'off for Bob');
    assert.equal(await cue(a.page), 'Hello from <b>SRT</b>');

    await api('PUT', `/api/rooms/${roomId}/video/subtitles`, { url: url('subs.vtt'), label: 'VTT', lang: 'en' }, host.token);
    assert.equal(await until(() => cue(a.page), 'the VTT cue').then(() => until(async () => (await cue(a.page)) === 'Hello from VTT' && 'ok', 'VTT text')), 'ok');
    assert.equal(await cue(b.page), null, 'still off for Bob (remembered in the tab)');
    await b.page.getByRole('button', { name: 'Subtitles' }).click();
    assert.equal(await until(() => cue(b.page), 'on again for Bob'), 'Hello from VTT');

    /* Removed: the button goes. */
    await a.page.getByRole('button', { name: 'Remove subtitles' }).click();
    await b.page.getByRole('button', { name: 'Subtitles' }).waitFor({ state: 'hidden' });
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('wait for everyone: a viewer with delayed media pauses the room, then all start together', async () => {
  const { roomId, host, guests: [bob] } = await room();
  const a = await openRoom(roomId, host);
  /* The host turns it on in Room settings. */
  await a.page.getByRole('button', { name: 'Room settings' }).click();
  await a.page.getByRole('switch', { name: 'Wait for everyone' }).check();
  await until(async () => (await state(roomId, host.token)).settings.waitForAll, 'waitForAll on');
  await shoot(a.page, 'watch-settings');
  await a.page.keyboard.press('Escape');
  /* Bob's network: for 4 s after the video is set, every request for it waits 3 s. */
  let slowUntil = Infinity;
  const b = await openRoom(roomId, bob, {
    route: {
      match: '**/long.webm',
      handler: async (route) => {
        if (Date.now() < slowUntil) await new Promise((r) => setTimeout(r, 3000));
        await route.continue().catch(() => {});
      },
    },
  });
  try {
    slowUntil = Date.now() + 4000;
    await api('PUT', `/api/rooms/${roomId}/video`, { url: url('long.webm') }, host.token);
    await api('POST', `/api/rooms/${roomId}/video/play`, { position: 5 }, host.token);
    await a.page.getByText('Waiting for Bob…').waitFor();
    await shoot(a.page, 'watch-waiting');
    const paused = await state(roomId, host.token);
    assert.equal(paused.video.playing, false);
    assert.deepEqual(paused.waiting, [bob.userId]);
    /* Bob's media arrives; the room resumes 3 s ahead with a countdown, and both start together. */
    await a.page.locator('.wnc-wait-count', { hasText: /^[123]$/ }).waitFor();
    const resumed = await until(async () => {
      const v = (await state(roomId, host.token)).video;
      return v.playing && v;
    }, 'resumed');
    assert.ok(resumed.position === paused.video.position);
    const [pa, pb] = await Promise.all([playing(a.page, roomId, host.token, 'long.webm'), playing(b.page, roomId, bob.token, 'long.webm')]);
    assert.ok(Math.abs(pa.error - pb.error) <= TOLERANCE_S, `spread ${pa.error - pb.error}`);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('reactions: one member reacts, the other sees it float over the video', async () => {
  const { roomId, host, guests: [bob] } = await room();
  const a = await openRoom(roomId, host);
  const b = await openRoom(roomId, bob);
  try {
    await b.page.getByRole('button', { name: 'Reactions' }).click();
    await b.page.getByRole('button', { name: 'React 🎉' }).click();
    const seen = a.page.locator('.wnc-reaction', { hasText: '🎉' });
    await seen.waitFor();
    assert.match(await seen.textContent(), /Bob/);
    await shoot(a.page, 'watch-reaction', { animations: 'allow' });
    await seen.waitFor({ state: 'detached', timeout: 5000 });
    /* Reduced motion: a static badge that fades, no flight. */
    await a.page.emulateMedia({ reducedMotion: 'reduce' });
    await b.page.getByRole('button', { name: 'Reactions' }).click();
    await b.page.getByRole('button', { name: 'React 👍' }).click();
    const badge = a.page.locator('.wnc-reaction', { hasText: '👍' });
    await badge.waitFor();
    assert.equal(await badge.evaluate((el) => getComputedStyle(el).animationName), 'wnc-badge');
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('autoplay blocked: one click joins at the right position and carries through an auto-advance', async () => {
  const { roomId, host, guests: [bob] } = await room();
  await api('PUT', `/api/rooms/${roomId}/video`, { url: url('long.webm') }, host.token);
  await api('POST', `/api/rooms/${roomId}/queue`, { url: url('b.webm') }, host.token);
  await api('POST', `/api/rooms/${roomId}/video/play`, { position: 10 }, host.token);
  const b = await openRoom(roomId, bob, { on: blocked, passive: true });
  try {
    /* The player loads the media, then its start is refused: give it time, untouched. */
    await b.page.waitForRequest(/long\.webm/);
    await b.page.waitForTimeout(5000);
    const join = b.page.getByRole('button', { name: 'Click to join playback' });
    await join.waitFor();
    await shoot(b.page, 'watch-autoplay-blocked');
    await join.click();
    await playing(b.page, roomId, bob.token, 'long.webm');
    /* Near the end: Bob's player reports it, and the next item, a new media element, plays
     * without a second click. */
    await api('POST', `/api/rooms/${roomId}/video/seek`, { position: 57 }, host.token);
    await playing(b.page, roomId, bob.token, 'b.webm');
    assert.equal(await join.isVisible(), false);
  } finally {
    await b.context.close();
  }
});
