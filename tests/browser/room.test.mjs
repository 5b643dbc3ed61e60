/*
 * The room page end to end in headless Chromium against a private stack:
 * create, join by link, participants, chat both ways with the typing
 * indicator, hostile text, reload, promote, remove, the end screens, the
 * phone layout's unread badge, and screenshots at phone and desktop sizes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, PHONE, launchBrowser, openPage, seriousErrors, shoot, startTestStack, urlsWithToken } from './lib/browser.mjs';
import { createRoomViaUi, joinByLink, personRow, waitLive } from './lib/room-helpers.mjs';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

let browser;
let stack;

before(async () => {
  stack = await startTestStack({ WNC_GRACE_MS: '3000' });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

describe('a room with two people', () => {
  let alice;
  let bob;

  before(async () => {
    alice = await createRoomViaUi(browser, stack.url, 'Alice', DESKTOP);
    bob = await joinByLink(browser, stack.url, alice.roomId, 'Bob', DESKTOP);
  });

  after(async () => {
    if (alice) await alice.context.close();
    if (bob) await bob.context.close();
  });

  test('both see each other in the participants list, hosts first', async () => {
    await waitLive(alice.page);
    await waitLive(bob.page);
    await personRow(alice.page, 'Bob').waitFor();
    await personRow(bob.page, 'Alice').waitFor();

    assert.equal(await alice.page.locator('#participants li').count(), 2);
    assert.equal(await bob.page.locator('#participants li').count(), 2);
    assert.match(await alice.page.locator('#participants li').first().textContent(), /Alice/);
    assert.match(await bob.page.locator('#participants li').first().textContent(), /Alice/);

    /* "(you)" on one's own row only; the crown on the host's row only. */
    assert.equal(await personRow(bob.page, 'Bob').locator('.person-you').isVisible(), true);
    assert.equal(await personRow(bob.page, 'Alice').locator('.person-you').isVisible(), false);
    assert.equal(await personRow(bob.page, 'Alice').getByRole('img', { name: 'Host' }).isVisible(), true);
    assert.equal(await personRow(bob.page, 'Bob').getByRole('img', { name: 'Host' }).isVisible(), false);

    /* Presence: Bob's events connection makes him online for Alice. */
    await personRow(alice.page, 'Bob').and(alice.page.locator('.is-online')).waitFor();

    /* The header says who hosts and shows the code. */
    assert.equal(await bob.page.locator('#host-names').textContent(), 'Alice');
    assert.equal(await bob.page.locator('#room-code').textContent(), alice.roomId);

    /* Only hosts get the member actions. */
    assert.equal(await personRow(alice.page, 'Bob').getByRole('button', { name: 'Make host' }).isVisible(), true);
    assert.equal(await personRow(alice.page, 'Bob').getByRole('button', { name: 'Remove' }).isVisible(), true);
    assert.equal(await bob.page.getByRole('button', { name: 'Make host' }).count(), 0);
    assert.equal(await bob.page.locator('#participants').getByRole('button', { name: 'Remove' }).count(), 0);
  });

  test('chat both ways, with the typing indicator', async () => {
    await bob.page.getByLabel('Message').pressSequentially('Hello Al');
    await alice.page.locator('#typing', { hasText: 'Bob is typing' }).waitFor();
    /* Nobody sees their own typing. */
    assert.equal(await bob.page.locator('#typing').textContent(), '');
    await bob.page.getByLabel('Message').pressSequentially('ice!');
    await bob.page.getByLabel('Message').press('Enter');

    const fromBob = alice.page.locator('#messages .msg', { hasText: 'Hello Alice!' });
    await fromBob.waitFor();
    assert.equal(await fromBob.evaluate((li) => li.classList.contains('msg-own')), false);
    assert.match(await fromBob.locator('.msg-author').textContent(), /^Bob$/);
    assert.match(await fromBob.locator('time').textContent(), /\d/);
    const ownOnBob = bob.page.locator('#messages .msg', { hasText: 'Hello Alice!' });
    await ownOnBob.waitFor();
    assert.equal(await ownOnBob.evaluate((li) => li.classList.contains('msg-own')), true);
    assert.equal(await bob.page.getByLabel('Message').inputValue(), '');
    /* The message ends Bob's typing for Alice. */
    await alice.page.locator('#typing:empty').waitFor();

    await alice.page.getByLabel('Message').fill('Hi Bob, popcorn ready?');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await bob.page.locator('#messages .msg', { hasText: 'popcorn ready?' }).waitFor();
    /* Each message shows once, even though it came both as the answer and as an event. */
    assert.equal(await alice.page.locator('#messages .msg', { hasText: 'popcorn ready?' }).count(), 1);
  });

  test('hostile chat text is shown as text, never run', async () => {
    await bob.page.getByLabel('Message').fill(HOSTILE);
    await bob.page.getByLabel('Message').press('Enter');
    const msg = alice.page.locator('#messages .msg-text', { hasText: 'onerror' });
    await msg.waitFor();
    assert.equal(await msg.textContent(), HOSTILE);
    assert.equal(await alice.page.locator('#messages img').count(), 0);
    assert.equal(await alice.page.evaluate(() => window.__pwned), undefined);
    assert.equal(await bob.page.evaluate(() => window.__pwned), undefined);
  });

  test('the counter appears near the 1000-character limit', async () => {
    const input = bob.page.getByLabel('Message');
    await input.fill('x'.repeat(950));
    await bob.page.locator('#chat-counter', { hasText: '950 / 1000' }).waitFor();
    await input.fill('y'.repeat(1200));
    assert.equal((await input.inputValue()).length, 1000);
    await bob.page.locator('#chat-counter.at-limit').waitFor();
    await input.fill('');
    assert.equal(await bob.page.locator('#chat-counter').isVisible(), false);
    assert.equal(await bob.page.getByRole('button', { name: 'Send' }).isDisabled(), true);
  });

  test('screenshots of the room (desktop, both roles)', async () => {
    await alice.page.getByLabel('Message').fill('');
    await shoot(alice.page, 'room-desktop-host');
    await shoot(bob.page, 'room-desktop-guest');
  });

  test('reloading keeps the same identity, without asking for a name', async () => {
    const before = await bob.page.evaluate(() => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith('wnc:identity:')))));
    await bob.page.reload();
    await bob.page.getByLabel('Message').waitFor();
    await waitLive(bob.page);
    assert.equal(await bob.page.getByLabel('Your name').isVisible(), false);
    const afterReload = await bob.page.evaluate(() => JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith('wnc:identity:')))));
    assert.equal(afterReload.userId, before.userId);
    assert.equal(await personRow(bob.page, 'Bob').locator('.person-you').isVisible(), true);
    /* History comes back, and nobody got duplicated. */
    await bob.page.locator('#messages .msg', { hasText: 'popcorn ready?' }).waitFor();
    assert.equal(await alice.page.locator('#participants li').count(), 2);
    assert.equal(await bob.page.locator('#participants li').count(), 2);
  });

  test('a host promotes a member; a host removes a member after confirming', async () => {
    await personRow(alice.page, 'Bob').getByRole('button', { name: 'Make host' }).click();
    await bob.page.getByText('You are now a host').waitFor();
    await personRow(alice.page, 'Bob').getByRole('img', { name: 'Host' }).waitFor();
    await bob.page.locator('#host-names', { hasText: 'Bob (you)' }).waitFor();
    assert.equal(await personRow(alice.page, 'Bob').getByRole('button', { name: 'Make host' }).isVisible(), false);

    const carol = await joinByLink(browser, stack.url, alice.roomId, 'Carol', PHONE);
    try {
      await personRow(alice.page, 'Carol').waitFor();
      /* Bob is a host now, so he has the actions too. */
      await personRow(bob.page, 'Carol').getByRole('button', { name: 'Remove' }).waitFor();

      const remove = personRow(alice.page, 'Carol').getByRole('button', { name: 'Remove' });
      await remove.click();
      const dialog = alice.page.getByRole('dialog');
      await dialog.waitFor();
      assert.match(await dialog.textContent(), /Remove Carol\?/);
      await shoot(alice.page, 'room-desktop-confirm-remove');
      /* Cancel changes nothing. */
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await personRow(alice.page, 'Carol').count(), 1);

      await remove.click();
      await dialog.getByRole('button', { name: 'Remove' }).click();
      await carol.page.getByRole('heading', { name: 'You were removed from this room' }).waitFor();
      await personRow(alice.page, 'Carol').waitFor({ state: 'detached' });
      await personRow(bob.page, 'Carol').waitFor({ state: 'detached' });
      await bob.page.getByText('Carol was removed').waitFor();
      await shoot(carol.page, 'removed-phone');

      /* Reloading after removal does not sneak back in: it asks for a name. */
      await carol.page.reload();
      await carol.page.getByLabel('Your name').waitFor();
    } finally {
      await carol.context.close();
    }
    assert.deepEqual(seriousErrors(alice.errors), []);
  });
});

describe('links and end screens', () => {
  test("a stranger's direct link asks for a name first", async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Hostess', DESKTOP);
    try {
      for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
        const stranger = await openPage(browser, stack.url, viewport);
        try {
          await stranger.page.goto(`/room/${host.roomId.toLowerCase()}`);
          await stranger.page.getByRole('heading', { name: `Join room ${host.roomId}` }).waitFor();
          await stranger.page.getByLabel('Your name').waitFor();
          assert.equal(await stranger.page.getByLabel('Message').isVisible(), false);
          assert.match(await stranger.page.locator('#join-summary').textContent(), /1 person is here/);
          /* The address is normalised to upper case. */
          assert.match(stranger.page.url(), new RegExp(`/room/${host.roomId}$`));
          await shoot(stranger.page, `room-name-prompt-${label}`);
        } finally {
          await stranger.context.close();
        }
      }
    } finally {
      await host.context.close();
    }
  });

  test('copy code and invite link; leaving tells the others', async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Lea', DESKTOP);
    const guest = await joinByLink(browser, stack.url, host.roomId, 'Leon', DESKTOP);
    try {
      await host.context.grantPermissions(['clipboard-read', 'clipboard-write']);
      await host.page.getByRole('button', { name: 'Copy code' }).click();
      await host.page.getByText(`Room code ${host.roomId} copied`).waitFor();
      assert.equal(await host.page.evaluate(() => navigator.clipboard.readText()), host.roomId);
      await host.page.getByRole('button', { name: 'Copy invite link' }).click();
      await host.page.getByText('Invite link copied').waitFor();
      assert.equal(await host.page.evaluate(() => navigator.clipboard.readText()), `${stack.url}/room/${host.roomId}`);

      await personRow(host.page, 'Leon').waitFor();
      await waitLive(guest.page);
      const hostSockets = host.sockets.length;
      const guestSocket = guest.sockets.at(-1);
      assert.equal(guestSocket.isClosed(), false);
      /*
       * The leaver closes its own stream (the server no longer does): hold the navigation to
       * the home page, so the room page is still alive, and its WebSocket must be closed already.
       */
      let release;
      const held = new Promise((r) => {
        release = r;
      });
      let navigating;
      const requested = new Promise((r) => {
        navigating = r;
      });
      await guest.page.route(`${stack.url}/`, async (route) => {
        navigating();
        await held;
        await route.continue();
      });
      await guest.page.getByRole('button', { name: 'Leave' }).click();
      // Not awaited yet: the click waits for the navigation it starts, which is held below.
      const confirmed = guest.page.getByRole('dialog').getByRole('button', { name: 'Leave' }).click();
      await requested;
      const deadline = Date.now() + 3000;
      while (!guestSocket.isClosed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const closedBeforeUnload = guestSocket.isClosed();
      release();
      await confirmed;
      await guest.page.waitForURL(`${stack.url}/`);
      await guest.page.unroute(`${stack.url}/`);
      assert.equal(closedBeforeUnload, true, 'the leaving page closed its WebSocket itself');
      await host.page.getByText('Leon left').waitFor();
      await personRow(host.page, 'Leon').waitFor({ state: 'detached' });
      /* Someone else leaving does not disconnect the host. */
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(host.sockets.length, hostSockets, 'the host kept its WebSocket');
      assert.equal(host.sockets.at(-1).isClosed(), false);
      assert.equal(await host.page.locator('#conn-status').getAttribute('data-state'), 'live');
      assert.deepEqual(urlsWithToken([...host.urls, ...guest.urls]), []);
    } finally {
      await host.context.close();
      await guest.context.close();
    }
  });

  test('a room that does not exist gets a clear screen', async () => {
    for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
      const v = await openPage(browser, stack.url, viewport);
      try {
        await v.page.goto('/room/QQQQQ0');
        await v.page.getByRole('heading', { name: 'This room does not exist' }).waitFor();
        await v.page.getByRole('link', { name: 'Create a room' }).waitFor();
        await shoot(v.page, `room-not-found-${label}`);
      } finally {
        await v.context.close();
      }
    }
  });

  test('names with every allowed symbol show exactly; names with markup are refused', async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Zed', DESKTOP);
    const odd = 'Dr. Who?! -_x';
    const guest = await openPage(browser, stack.url, DESKTOP);
    try {
      await guest.page.goto(`/room/${host.roomId}`);
      await guest.page.getByLabel('Your name').fill('<img src=x onerror=alert(1)>');
      await guest.page.getByRole('button', { name: 'Join room' }).click();
      await guest.page.getByText('Use letters, digits, spaces and - _ . ! ? only.').waitFor();

      /* The server refuses it too, whatever a client does. */
      const res = await fetch(`${stack.url}/api/rooms/${host.roomId}/join`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userName: '<img src=x onerror=alert(1)>' }),
      });
      assert.equal(res.status, 400);

      await guest.page.getByLabel('Your name').fill(odd);
      await guest.page.getByRole('button', { name: 'Join room' }).click();
      await guest.page.getByLabel('Message').waitFor();
      await personRow(host.page, odd).waitFor();
      assert.equal(await personRow(host.page, odd).locator('.person-name').textContent(), odd);
      await host.page.getByText(`${odd} joined`).waitFor();
    } finally {
      await host.context.close();
      await guest.context.close();
    }
  });
});

describe('presence and hand-off', () => {
  test('"N people are typing"; a closed tab goes offline, then leaves; the next member becomes host', async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Hugo', DESKTOP);
    const first = await joinByLink(browser, stack.url, host.roomId, 'Fay', DESKTOP);
    const second = await joinByLink(browser, stack.url, host.roomId, 'Sid', DESKTOP);
    try {
      await waitLive(first.page);
      await waitLive(second.page);
      await first.page.getByLabel('Message').pressSequentially('typing...');
      await host.page.locator('#typing', { hasText: 'Fay is typing' }).waitFor();
      await second.page.getByLabel('Message').pressSequentially('me too');
      await host.page.locator('#typing', { hasText: '2 people are typing' }).waitFor();
      await shoot(host.page, 'room-desktop-typing');

      await personRow(first.page, 'Hugo').and(first.page.locator('.is-online')).waitFor();
      await host.context.close();
      /* Offline first (grace period), then gone, and Fay (longest present) is the host. */
      await personRow(first.page, 'Hugo').and(first.page.locator(':not(.is-online)')).waitFor();
      await shoot(first.page, 'room-desktop-offline-member');
      await first.page.getByText('You are now a host').waitFor({ timeout: 15000 });
      await personRow(first.page, 'Hugo').waitFor({ state: 'detached' });
      await second.page.getByText('Hugo lost connection and left').waitFor();
      await second.page.getByText('Fay is now a host').waitFor();
      await first.page.getByLabel('Video URL').waitFor();
      assert.equal(await first.page.locator('#host-names').textContent(), 'Fay (you)');
      await personRow(first.page, 'Sid').getByRole('button', { name: 'Make host' }).waitFor();
    } finally {
      await host.context.close().catch(() => {});
      await first.context.close();
      await second.context.close();
    }
  });
});

describe('typing indicator', () => {
  /*
   * The server ends a typing indicator with a typing:false event; the page also lets one
   * expire by itself (room-state.js TYPING_SHOW_MS), in case that event is lost. Lose it on
   * purpose: the guest long-polls, and its poll answers carrying typing:false are replaced
   * by a 408 (typing does not advance seq, so nothing notices the loss).
   */
  test('an indicator whose stop was lost runs out by itself', async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Tess', DESKTOP);
    const guest = await openPage(browser, stack.url, DESKTOP);
    try {
      let dropped = 0;
      await guest.page.route(/\/api\/rooms\/[A-Z0-9]{6}\/events$/, async (route) => {
        try {
          const response = await route.fetch();
          const body = await response.text();
          if (/"type"\s*:\s*"typing"/.test(body) && /"typing"\s*:\s*false/.test(body)) {
            dropped += 1;
            await route.fulfill({ status: 408, body: '' });
          } else {
            await route.fulfill({ response, body });
          }
        } catch (err) {
          /* The page gave up on this poll (or closed) first. */
        }
      });
      await guest.page.goto(`/room/${host.roomId}?transport=poll`);
      await guest.page.getByLabel('Your name').fill('Gabe');
      await guest.page.getByRole('button', { name: 'Join room' }).click();
      await waitLive(guest.page);
      await personRow(host.page, 'Gabe').waitFor();

      await host.page.getByLabel('Message').pressSequentially('hm');
      await guest.page.locator('#typing', { hasText: 'Tess is typing' }).waitFor();
      const shown = Date.now();
      /* The host's stop goes out after 4 s idle and is lost; the page's own expiry follows. */
      await guest.page.locator('#typing:empty').waitFor({ timeout: 12000 });
      const lasted = Date.now() - shown;
      assert.ok(dropped >= 1, 'a typing:false answer was dropped');
      assert.ok(lasted > 5000, `the indicator lasted ${lasted} ms: cleared by the page's timer, not by an event`);
      assert.deepEqual(seriousErrors(guest.errors), []);
    } finally {
      await host.context.close();
      await guest.context.close();
    }
  });
});

describe('phone layout', () => {
  test('chat and people switch; unread badge while the chat is hidden', async () => {
    const host = await createRoomViaUi(browser, stack.url, 'Phoebe', PHONE);
    const guest = await joinByLink(browser, stack.url, host.roomId, 'Gus', PHONE);
    try {
      await waitLive(host.page);
      await waitLive(guest.page);
      await shoot(host.page, 'room-phone-host');

      await host.page.getByRole('button', { name: /^People/ }).click();
      await personRow(host.page, 'Gus').waitFor();
      assert.equal(await host.page.getByLabel('Message').isVisible(), false);
      await shoot(host.page, 'room-phone-people');

      await guest.page.getByLabel('Message').fill('Anyone there?');
      await guest.page.getByRole('button', { name: 'Send' }).click();
      await host.page.locator('#unread-badge', { hasText: '1' }).waitFor();
      assert.match(await host.page.getByRole('button', { name: /^Chat/ }).textContent(), /1 unread/);
      await guest.page.getByLabel('Message').fill('Hello?');
      await guest.page.getByRole('button', { name: 'Send' }).click();
      await host.page.locator('#unread-badge', { hasText: '2' }).waitFor();
      await shoot(host.page, 'room-phone-unread');

      await host.page.getByRole('button', { name: /^Chat/ }).click();
      await host.page.locator('#unread-badge').waitFor({ state: 'hidden' });
      await host.page.locator('#messages .msg', { hasText: 'Hello?' }).waitFor();
      await shoot(host.page, 'room-phone-chat');
      await shoot(guest.page, 'room-phone-guest');
      await guest.page.getByRole('button', { name: 'Light theme' }).click();
      await shoot(guest.page, 'room-phone-guest-light');
    } finally {
      await host.context.close();
      await guest.context.close();
    }
  });
});
