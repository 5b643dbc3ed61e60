/*
 * Room access and moderation in the browser (issue 16), against a private
 * stack: the Room settings panel (switches, password) and the header's lock,
 * locked and password joins from the room link and from /join, guest control
 * of playback and of the video, mute with a duration, deleting chat messages,
 * changing one's name, and a ban. Screenshots of the settings panel at phone
 * and desktop size.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, PHONE, launchBrowser, openPage, seriousErrors, shoot, startTestStack } from './lib/browser.mjs';
import { createRoomViaUi, joinByLink, personRow, waitLive } from './lib/room-helpers.mjs';

let browser;
let stack;

before(async () => {
  stack = await startTestStack();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

/* Opens the settings panel on page and returns the dialog. */
async function openSettings(page) {
  await page.getByRole('button', { name: 'Room settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Room settings' });
  await dialog.waitFor();
  return dialog;
}

/* Flips a switch of the open panel and waits for the server's answer to show. */
async function flip(dialog, name, on) {
  const sw = dialog.getByRole('switch', { name });
  await sw.setChecked(on);
  await dialog.page().waitForFunction(([label, want]) => {
    const input = [...document.querySelectorAll('#settings-dialog input[role="switch"]')].find((i) => i.closest('label').textContent.includes(label));
    return input && input.checked === want;
  }, [name, on]);
}

describe('settings, locked and password joins', () => {
  let alice;
  let bob;

  before(async () => {
    alice = await createRoomViaUi(browser, stack.url, 'Alice', DESKTOP);
    bob = await joinByLink(browser, stack.url, alice.roomId, 'Bob', PHONE);
    await waitLive(alice.page);
    await waitLive(bob.page);
  });

  after(async () => {
    for (const p of [alice, bob]) if (p) await p.context.close();
  });

  test('only hosts have Room settings; the panel has the switches and the password field', async () => {
    assert.equal(await bob.page.getByRole('button', { name: 'Room settings' }).isVisible(), false);
    const dialog = await openSettings(alice.page);
    for (const name of ['Lock room', 'Guests can control playback', 'Guests can change the video']) {
      assert.equal(await dialog.getByRole('switch', { name }).isChecked(), false, name);
    }
    await dialog.getByLabel('Password').waitFor();
    await dialog.getByRole('button', { name: 'Set password' }).waitFor();
    await shoot(alice.page, 'access-settings-desktop');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  test('locking shows the lock to everyone and stops strangers at the door', async () => {
    const dialog = await openSettings(alice.page);
    await flip(dialog, 'Lock room', true);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await alice.page.locator('#room-locked', { hasText: 'Locked' }).waitFor();
    await bob.page.locator('#room-locked', { hasText: 'Locked' }).waitFor();

    const carol = await openPage(browser, stack.url, DESKTOP);
    try {
      await carol.page.goto(`/room/${alice.roomId}`);
      await carol.page.getByText('This room is locked').first().waitFor();
      await carol.page.getByLabel('Your name').fill('Carol');
      await carol.page.getByRole('button', { name: 'Join room' }).click();
      await carol.page.locator('#form-error', { hasText: 'This room is locked' }).waitFor();
    } finally {
      await carol.context.close();
    }
    const again = await openSettings(alice.page);
    await flip(again, 'Lock room', false);
    await again.getByRole('button', { name: 'Close' }).click();
    await bob.page.locator('#room-locked').waitFor({ state: 'hidden' });
  });

  test('a password: asked on the room link and on /join, a wrong one said inline', async () => {
    const dialog = await openSettings(alice.page);
    await dialog.getByLabel('Password').fill('open sesame');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await dialog.getByText('This room has a password.').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();

    const carol = await openPage(browser, stack.url, PHONE);
    const dan = await openPage(browser, stack.url, DESKTOP);
    try {
      await carol.page.goto(`/room/${alice.roomId}`);
      await carol.page.getByLabel('Your name').fill('Carol');
      const pw = carol.page.getByLabel('Password');
      await pw.waitFor();
      await pw.fill('wrong guess');
      await carol.page.getByRole('button', { name: 'Join room' }).click();
      await carol.page.locator('#password-error', { hasText: 'That password is not right.' }).waitFor();
      await pw.fill('open sesame');
      await carol.page.getByRole('button', { name: 'Join room' }).click();
      await carol.page.getByLabel('Message').waitFor();
      await personRow(alice.page, 'Carol').waitFor();

      /* /join learns of the password from the server's answer. */
      await dan.page.goto(`/join?room=${alice.roomId}`);
      assert.equal(await dan.page.getByLabel('Password').isVisible(), false);
      await dan.page.getByLabel('Your name').fill('Dan');
      await dan.page.getByRole('button', { name: 'Join room' }).click();
      await dan.page.getByLabel('Password').waitFor();
      await dan.page.locator('#password-error', { hasText: 'This room has a password' }).waitFor();
      await dan.page.getByLabel('Password').fill('open sesame');
      /* Enter, not a click: the blur that a click causes clears the field's error, and the
       * button moves up under the pointer before the click lands. */
      await dan.page.getByLabel('Password').press('Enter');
      await dan.page.waitForURL(/\/room\//, { waitUntil: 'commit' });
      await dan.page.getByLabel('Message').waitFor();
      await personRow(alice.page, 'Dan').waitFor();
    } finally {
      await carol.context.close();
      await dan.context.close();
    }
    const again = await openSettings(alice.page);
    await again.getByRole('button', { name: 'Remove password' }).click();
    await again.getByText('No password').waitFor();
    await again.getByRole('button', { name: 'Close' }).click();
  });

  test('the settings panel on a phone', async () => {
    /* Bob becomes host to show the panel at phone size. */
    await personRow(alice.page, 'Bob').getByRole('button', { name: 'Make host' }).click();
    await bob.page.getByRole('button', { name: 'Room settings' }).waitFor();
    const dialog = await openSettings(bob.page);
    await shoot(bob.page, 'access-settings-phone');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await personRow(alice.page, 'Bob').getByRole('button', { name: 'Remove host' }).click();
    await bob.page.getByRole('button', { name: 'Room settings' }).waitFor({ state: 'hidden' });
    await bob.page.getByText('You are no longer a host').waitFor();
  });

  test('guest control: the video field and the player controls follow the switches', async () => {
    const url = alice.page.getByLabel('Video URL');
    await url.fill('https://example.com/movie.mp4');
    await alice.page.getByRole('button', { name: 'Set video' }).click();
    const play = bob.page.locator('.wnc-video-play');
    await bob.page.waitForFunction(() => document.querySelector('.wnc-video.has-video'));
    assert.equal(await play.getAttribute('aria-disabled'), 'true');
    assert.equal(await bob.page.getByLabel('Video URL').isVisible(), false);

    const dialog = await openSettings(alice.page);
    await flip(dialog, 'Guests can control playback', true);
    await bob.page.waitForFunction(() => document.querySelector('.wnc-video-play').getAttribute('aria-disabled') === 'false');
    assert.equal(await bob.page.getByLabel('Video URL').isVisible(), false);
    await flip(dialog, 'Guests can change the video', true);
    await bob.page.getByLabel('Video URL').waitFor();
    await flip(dialog, 'Guests can control playback', false);
    await flip(dialog, 'Guests can change the video', false);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await bob.page.getByLabel('Video URL').waitFor({ state: 'hidden' });
    await bob.page.waitForFunction(() => document.querySelector('.wnc-video-play').getAttribute('aria-disabled') === 'true');
  });
});

describe('moderation', () => {
  let alice;
  let bob;

  before(async () => {
    alice = await createRoomViaUi(browser, stack.url, 'Alice', DESKTOP);
    bob = await joinByLink(browser, stack.url, alice.roomId, 'Bob', DESKTOP);
    await waitLive(alice.page);
    await waitLive(bob.page);
  });

  after(async () => {
    for (const p of [alice, bob]) if (p) await p.context.close();
  });

  test('mute with a duration: "You are muted" for them, a muted icon for others; unmute', async () => {
    await personRow(alice.page, 'Bob').getByRole('button', { name: 'Mute' }).click();
    const dialog = alice.page.getByRole('dialog', { name: 'Mute Bob?' });
    await dialog.getByLabel('Mute for').selectOption({ label: '15 minutes' });
    await dialog.getByRole('button', { name: 'Mute' }).click();
    await bob.page.getByText('You are muted').waitFor();
    assert.equal(await bob.page.getByLabel('Message').isVisible(), false);
    await personRow(alice.page, 'Bob').getByRole('img', { name: 'muted' }).waitFor();
    await personRow(bob.page, 'Bob').getByRole('img', { name: 'muted' }).waitFor();
    await personRow(alice.page, 'Bob').getByRole('button', { name: 'Unmute' }).click();
    await bob.page.getByLabel('Message').waitFor();
    await personRow(alice.page, 'Bob').getByRole('img', { name: 'muted' }).waitFor({ state: 'hidden' });
  });

  test('delete: members their own messages, hosts any; "message deleted" for everyone', async () => {
    await alice.page.getByLabel('Message').fill('from the host');
    await alice.page.getByLabel('Message').press('Enter');
    await bob.page.getByLabel('Message').fill('oops <b>typo</b>');
    await bob.page.getByLabel('Message').press('Enter');
    await bob.page.getByLabel('Message').fill('second');
    await bob.page.getByLabel('Message').press('Enter');
    const bobMsg = (page, text) => page.locator('#messages .msg', { hasText: text });
    await bobMsg(alice.page, 'second').waitFor();
    assert.equal(await bobMsg(bob.page, 'from the host').getByRole('button', { name: 'Delete' }).isVisible(), false);
    await bobMsg(bob.page, 'oops').getByRole('button', { name: 'Delete' }).click();
    await alice.page.locator('#messages .msg-deleted', { hasText: 'message deleted' }).waitFor();
    await bob.page.locator('#messages .msg-deleted', { hasText: 'message deleted' }).waitFor();
    assert.equal(await bobMsg(alice.page, 'oops').count(), 0);
    await bobMsg(alice.page, 'second').getByRole('button', { name: 'Delete' }).click();
    await bob.page.locator('#messages .msg-deleted').nth(1).waitFor();
    assert.equal(await bob.page.locator('#messages .msg-deleted').count(), 2);
    await shoot(bob.page, 'access-chat-deleted-desktop');
  });

  test('change name: on one\'s own entry; everyone sees the new name', async () => {
    assert.equal(await personRow(bob.page, 'Alice').getByRole('button', { name: 'Change name' }).isVisible(), false);
    await personRow(bob.page, 'Bob').getByRole('button', { name: 'Change name' }).click();
    const dialog = bob.page.getByRole('dialog', { name: 'Change your name' });
    await dialog.getByLabel('New name').fill('alice');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('already taken').waitFor();
    await dialog.getByLabel('New name').fill('Robert');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await personRow(alice.page, 'Robert').waitFor();
    await personRow(bob.page, 'Robert').waitFor();
  });

  test('ban: removed, the same address cannot come back under another name, until a host lifts it', async () => {
    await personRow(alice.page, 'Robert').getByRole('button', { name: 'Ban' }).click();
    const dialog = alice.page.getByRole('dialog');
    assert.match(await dialog.textContent(), /Ban Robert\?/);
    await dialog.getByRole('button', { name: 'Ban' }).click();
    await bob.page.getByRole('heading', { name: 'You were removed from this room' }).waitFor();
    await personRow(alice.page, 'Robert').waitFor({ state: 'detached' });
    await bob.page.goto(`/room/${alice.roomId}`);
    await bob.page.getByLabel('Your name').fill('Bobby');
    await bob.page.getByRole('button', { name: 'Join room' }).click();
    await bob.page.locator('#form-error', { hasText: 'banned' }).waitFor();

    /* The host sees the ban, by the name it had, and lifts it: the address may join again. */
    const settings = await openSettings(alice.page);
    const row = settings.locator('.ban', { hasText: 'Robert' });
    await row.waitFor();
    await shoot(alice.page, 'access-bans-desktop');
    await row.getByRole('button', { name: 'Unban' }).click();
    await settings.getByText('Nobody is banned.').waitFor();
    await settings.getByRole('button', { name: 'Close' }).click();
    await bob.page.getByRole('button', { name: 'Join room' }).click();
    await bob.page.getByLabel('Message').waitFor();
    await personRow(alice.page, 'Bobby').waitFor();
    assert.deepEqual(seriousErrors(alice.errors), []);
  });
});
