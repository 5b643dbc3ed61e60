/*
 * The room page with the real video area mounted: the host sets a video and
 * presses play, the guest's player follows. Kept light on purpose; the
 * video area's own tests (video-*.test.mjs) go deep on sync.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, PHONE, launchBrowser, seriousErrors, shoot, startTestStack } from './lib/browser.mjs';
import { createRoomViaUi, joinByLink, waitLive } from './lib/room-helpers.mjs';
import { startMediaServer, testVideo } from '../sync/media.mjs';

let browser;
let stack;
let media;

before(async () => {
  const file = await testVideo({ seconds: 60 });
  media = await startMediaServer({ '/clip.webm': file });
  stack = await startTestStack();
  browser = await launchBrowser({ args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio'] });
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
  if (media) await media.close();
});

/* The guest's <video> state: {paused, time}. */
function playerState(page) {
  return page.evaluate(() => {
    const v = document.querySelector('#video-area video');
    return v ? { paused: v.paused, time: v.currentTime, src: v.currentSrc } : null;
  });
}

test('host sets a video and plays; the guest follows', async () => {
  const host = await createRoomViaUi(browser, stack.url, 'Vera', DESKTOP);
  const guest = await joinByLink(browser, stack.url, host.roomId, 'Gil', PHONE);
  try {
    await waitLive(host.page);
    await waitLive(guest.page);
    await guest.page.getByText('Waiting for the host to pick a video').waitFor();
    /* Guests get no URL field. */
    assert.equal(await guest.page.getByLabel('Video URL').isVisible(), false);

    await host.page.getByLabel('Video URL').fill(`${media.url}/clip.webm`);
    await host.page.getByRole('button', { name: 'Set video' }).click();
    await guest.page.waitForFunction(() => {
      const v = document.querySelector('#video-area video');
      return v && v.currentSrc.endsWith('/clip.webm');
    });

    await host.page.locator('#video-area').getByRole('button', { name: 'Play', exact: true }).click();
    /* The autoplay policy may still ask the guest for one click. */
    const join = guest.page.getByRole('button', { name: 'Click to join playback' });
    await guest.page.waitForFunction(
      () => {
        const v = document.querySelector('#video-area video');
        const b = [...document.querySelectorAll('#video-area button')].find((x) => x.textContent === 'Click to join playback');
        return (v && !v.paused && v.currentTime > 0.5) || (b && !b.hidden);
      },
      null,
      { timeout: 15000 },
    );
    if (await join.isVisible()) await join.click();
    await guest.page.waitForFunction(() => {
      const v = document.querySelector('#video-area video');
      return v && !v.paused && v.currentTime > 1;
    }, null, { timeout: 15000 });

    const h = await playerState(host.page);
    const g = await playerState(guest.page);
    assert.equal(g.paused, false);
    assert.ok(Math.abs(h.time - g.time) < 1.5, `host ${h.time} vs guest ${g.time}`);
    await shoot(host.page, 'room-desktop-playing');
    await shoot(guest.page, 'room-phone-playing');
    assert.deepEqual(seriousErrors(host.errors), []);
    assert.deepEqual(seriousErrors(guest.errors), []);
  } finally {
    await host.context.close();
    await guest.context.close();
  }
});
