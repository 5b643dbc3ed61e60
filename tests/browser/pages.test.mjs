/*
 * The static pages (/, /create, /join) in headless Chromium: labels, inline
 * validation, the room-code field, the theme toggle, server errors shown
 * inline, and screenshots at phone and desktop sizes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, PHONE, launchBrowser, openPage, seriousErrors, shoot, startTestStack } from './lib/browser.mjs';

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

describe('home page', () => {
  for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    test(`shows what it is and both ways in (${label})`, async () => {
      const { context, page, errors } = await openPage(browser, stack.url, viewport);
      try {
        await page.goto('/');
        await page.getByRole('heading', { level: 1 }).waitFor();
        assert.match(await page.getByRole('heading', { level: 1 }).textContent(), /together/);
        assert.equal(await page.getByRole('link', { name: 'Create a room' }).getAttribute('href'), '/create');
        assert.equal(await page.getByRole('link', { name: 'Join a room' }).getAttribute('href'), '/join');
        await page.getByRole('heading', { name: 'How it works' }).waitFor();
        await shoot(page, `home-${label}`, { fullPage: true });
        assert.deepEqual(seriousErrors(errors), []);
      } finally {
        await context.close();
      }
    });
  }

  test('dark by default; the light theme is remembered across pages', async () => {
    const { context, page } = await openPage(browser, stack.url, DESKTOP);
    try {
      await page.goto('/');
      assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
      const toggle = page.getByRole('button', { name: 'Light theme' });
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
      await toggle.click();
      assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
      await shoot(page, 'home-desktop-light', { fullPage: true });
      await page.goto('/join');
      assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
      assert.equal(await page.getByRole('button', { name: 'Light theme' }).getAttribute('aria-pressed'), 'true');
      await shoot(page, 'join-desktop-light');
    } finally {
      await context.close();
    }
  });
});

describe('404 page', () => {
  test('offers the way back (phone)', async () => {
    const { context, page, errors } = await openPage(browser, stack.url, PHONE);
    try {
      await page.goto('/404.html');
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Join a room' }).getAttribute('href'), '/join');
      await shoot(page, '404-phone');
      assert.deepEqual(seriousErrors(errors), []);
    } finally {
      await context.close();
    }
  });
});

describe('create page', () => {
  test('validates the name inline, then creates the room and opens it', async () => {
    const { context, page, errors } = await openPage(browser, stack.url, PHONE);
    try {
      await page.goto('/create');
      const name = page.getByLabel('Your name');
      await assert.doesNotReject(name.waitFor());
      await page.getByRole('button', { name: 'Create room' }).click();
      await page.getByText('Please enter your name.').waitFor();
      assert.equal(await name.getAttribute('aria-invalid'), 'true');

      await name.fill('<b>x</b>');
      await page.getByText('Use letters, digits, spaces and - _ . ! ? only.').waitFor();
      await name.fill('A');
      await page.getByText('at least 2 characters').waitFor();
      await shoot(page, 'create-phone-error');

      await name.fill('Alice');
      assert.equal(await name.getAttribute('aria-invalid'), null);
      await shoot(page, 'create-phone');
      await page.getByRole('button', { name: 'Create room' }).click();
      await page.waitForURL(/\/room\/[A-Z0-9]{6}$/);
      await page.getByLabel('Message').waitFor();
      await page.locator('#host-names', { hasText: 'Alice (you)' }).waitFor();
      assert.deepEqual(seriousErrors(errors), []);
    } finally {
      await context.close();
    }
  });

  test('desktop screenshot', async () => {
    const { context, page } = await openPage(browser, stack.url, DESKTOP);
    try {
      await page.goto('/create');
      await page.getByLabel('Your name').waitFor();
      await shoot(page, 'create-desktop');
    } finally {
      await context.close();
    }
  });
});

describe('join page', () => {
  test('upper-cases the code as typed and pre-fills ?room=', async () => {
    const { context, page, errors } = await openPage(browser, stack.url, DESKTOP);
    try {
      await page.goto('/join');
      const code = page.getByLabel('Room code');
      await code.pressSequentially('ab-c1 2z9');
      assert.equal(await code.inputValue(), 'ABC12Z');
      await shoot(page, 'join-desktop');

      await page.goto('/join?room=xyz789');
      assert.equal(await page.getByLabel('Room code').inputValue(), 'XYZ789');
      /* With the code filled in, the name field gets the focus. */
      assert.equal(await page.evaluate(() => document.activeElement.id), 'name');
      assert.deepEqual(seriousErrors(errors), []);
    } finally {
      await context.close();
    }
  });

  test('shows "no such room" and "name taken" inline', async () => {
    const { context, page } = await openPage(browser, stack.url, PHONE);
    const host = await openPage(browser, stack.url, DESKTOP);
    try {
      await page.goto('/join');
      await page.getByLabel('Room code').fill('ZZZZZ0');
      await page.getByLabel('Your name').fill('Bob');
      await page.getByRole('button', { name: 'Join room' }).click();
      await page.getByText('There is no room with that code').waitFor();
      assert.equal(await page.getByLabel('Room code').getAttribute('aria-invalid'), 'true');
      await shoot(page, 'join-phone-error');

      await host.page.goto('/create');
      await host.page.getByLabel('Your name').fill('Taken Name');
      await host.page.getByRole('button', { name: 'Create room' }).click();
      await host.page.waitForURL(/\/room\/[A-Z0-9]{6}$/);
      const roomId = host.page.url().split('/').pop();

      await page.getByLabel('Room code').fill(roomId.toLowerCase());
      await page.getByLabel('Your name').fill('taken name');
      await page.getByRole('button', { name: 'Join room' }).click();
      await page.getByText('already uses that name').waitFor();
      assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');

      await page.getByLabel('Your name').fill('Bob');
      await page.getByRole('button', { name: 'Join room' }).click();
      await page.waitForURL(new RegExp(`/room/${roomId}$`));
      await page.getByLabel('Message').waitFor();
      await shoot(page, 'join-phone');
    } finally {
      await context.close();
      await host.context.close();
    }
  });
});
