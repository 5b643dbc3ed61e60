/*
 * Realtime transports in the browser: when WebSocket is unavailable the room
 * falls back to EventSource, and without both to long-poll; each way chat
 * and typing still flow. Also the visible connection status going offline
 * and back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, launchBrowser, openPage, seriousErrors, shoot, startTestStack, urlsWithToken } from './lib/browser.mjs';
import { createRoomViaUi, personRow, waitLive } from './lib/room-helpers.mjs';

let browser;
let stack;

before(async () => {
  stack = await startTestStack({ WNC_GRACE_MS: '60000' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/* Makes a transport fail the way a blocking proxy would: the connection errors before opening. */
function breakTransports(names) {
  return (blocked) => {
    const failing = (Kind) =>
      class {
        constructor() {
          setTimeout(() => {
            if (this.onerror) this.onerror(new Event('error'));
            if (Kind === 'ws' && this.onclose) this.onclose(new Event('close'));
          }, 10);
        }
        close() {}
      };
    if (blocked.includes('ws')) window.WebSocket = failing('ws');
    if (blocked.includes('sse')) window.EventSource = failing('sse');
  };
}

async function joinWith(blocked, roomId, name) {
  const opened = await openPage(browser, stack.url, DESKTOP);
  await opened.page.addInitScript(breakTransports(), blocked);
  await opened.page.goto(`/room/${roomId}`);
  await opened.page.getByLabel('Your name').fill(name);
  await opened.page.getByRole('button', { name: 'Join room' }).click();
  await opened.page.getByLabel('Message').waitFor();
  return opened;
}

describe('transport fallback', () => {
  let host;
  before(async () => {
    host = await createRoomViaUi(browser, stack.url, 'Hana', DESKTOP);
    await waitLive(host.page);
    assert.equal(await host.page.locator('#conn-status').getAttribute('data-transport'), 'ws');
  });
  after(async () => {
    if (host) await host.context.close();
  });

  for (const [blocked, expected, name] of [
    [['ws'], 'sse', 'Sam'],
    [['ws', 'sse'], 'poll', 'Polly'],
  ]) {
    test(`without ${blocked.join(' and ')}: ${expected} carries chat and typing`, async () => {
      const guest = await joinWith(blocked, host.roomId, name);
      try {
        await waitLive(guest.page);
        assert.equal(await guest.page.locator('#conn-status').getAttribute('data-transport'), expected);
        await personRow(guest.page, 'Hana').waitFor();

        await host.page.getByLabel('Message').pressSequentially(`hey ${name}`);
        await guest.page.locator('#typing', { hasText: 'Hana is typing' }).waitFor();
        await host.page.getByLabel('Message').press('Enter');
        await guest.page.locator('#messages .msg', { hasText: `hey ${name}` }).waitFor();

        await guest.page.getByLabel('Message').fill(`hi from ${expected}`);
        await guest.page.getByLabel('Message').press('Enter');
        await host.page.locator('#messages .msg', { hasText: `hi from ${expected}` }).waitFor();

        /* Several events in a row (each long-poll answer carries one). */
        for (let i = 1; i <= 3; i += 1) {
          await host.page.getByLabel('Message').fill(`burst ${name} ${i}`);
          await host.page.getByLabel('Message').press('Enter');
        }
        try {
          await guest.page.locator('#messages .msg', { hasText: `burst ${name} 3` }).waitFor();
        } catch (err) {
          err.message += `\nguest screen: ${await guest.page.evaluate(() => document.body.dataset.screen)} me=${await guest.page.evaluate(() => JSON.stringify(sessionStorage))}`;
          err.message += `\nguest log:\n${guest.debug.join('\n')}\nhost log:\n${host.debug.join('\n')}`;
          throw err;
        }
        await guest.page.locator('#messages .msg', { hasText: `burst ${name} 1` }).waitFor();
        await shoot(guest.page, `room-desktop-${expected}`);
        assert.deepEqual(seriousErrors(guest.errors), []);
        /* The bearer token never travels in a URL: tickets for EventSource, a header for long-poll. */
        assert.ok(guest.urls.some((u) => /\/events(\/[A-Z0-9]{6}-\d+)?(\?|$)/.test(u)), 'the guest subscribed');
        assert.deepEqual(urlsWithToken(guest.urls), []);
        /* EventSource on the channel's own path (nchan_authorize_request), with its ticket. */
        if (expected === 'sse') assert.ok(guest.urls.some((u) => /\/events\/[A-Z0-9]{6}-\d+\?ticket=[^&]+&user=[0-9a-f-]{36}$/.test(u)));
      } finally {
        await guest.context.close();
      }
    });
  }

  test('the WebSocket page never put the token in a URL either', async () => {
    /* The host has been live on WebSocket through both guests' visits. */
    assert.ok(host.urls.some((u) => /^ws:.*\/events\/[A-Z0-9]{6}-\d+\?ticket=[^&]+&user=[0-9a-f-]{36}$/.test(u)), 'the host subscribed with a ticket');
    assert.ok(host.urls.some((u) => /\/events\/ticket$/.test(u)), 'the host asked for a ticket');
    assert.deepEqual(urlsWithToken(host.urls), []);
  });
});

describe('long-poll presence', () => {
  /*
   * nchan fires no presence hooks for long-poll, so the server counts each poll as a sign of
   * life for one grace period, and ends every long-poll after half the grace period (nchan
   * answers 408/304 and the client polls again), so a quiet room never times a poller out.
   */
  test('a long-poll member stays in a quiet room past the grace period', async () => {
    const short = await startTestStack({ WNC_GRACE_MS: '4000' });
    const host = await createRoomViaUi(browser, short.url, 'Hal', DESKTOP);
    let guest;
    try {
      const opened = await openPage(browser, short.url, DESKTOP);
      guest = opened;
      await guest.page.goto(`/room/${host.roomId}?transport=poll`);
      await guest.page.getByLabel('Your name').fill('Pia');
      await guest.page.getByRole('button', { name: 'Join room' }).click();
      await waitLive(guest.page);
      await personRow(host.page, 'Pia').and(host.page.locator('.is-online')).waitFor({ timeout: 3000 });
      await new Promise((r) => setTimeout(r, 8000)); /* twice the grace period */
      assert.equal(await personRow(host.page, 'Pia').count(), 1);
      assert.equal(await guest.page.evaluate(() => document.body.dataset.screen), 'room');
    } finally {
      await host.context.close();
      if (guest) await guest.context.close();
      await short.stop();
    }
  });
});

describe('connection status', () => {
  test('shows offline while the network is gone and live again after', async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Otto', DESKTOP);
    try {
      await waitLive(host.page);
      await host.context.setOffline(true);
      await host.page.locator('#conn-status[data-state="offline"]').waitFor();
      assert.equal(await host.page.locator('#conn-status .conn-text').textContent(), 'Offline');
      await shoot(host.page, 'room-desktop-offline');
      await host.context.setOffline(false);
      await waitLive(host.page);
    } finally {
      await host.context.close();
    }
  });
});
