/*
 * Room-level steps shared by the browser tests: create a room through the
 * UI, join one by its link, find a participant's row.
 */
import { DESKTOP, openPage } from './browser.mjs';

/** Creates a room through /create as `name`. Resolves to {context, page, errors, roomId}. */
export async function createRoomViaUi(browser, baseURL, name, viewport = DESKTOP) {
  const opened = await openPage(browser, baseURL, viewport);
  const { page } = opened;
  await page.goto('/create');
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Create room' }).click();
  await page.waitForURL(/\/room\/[A-Z0-9]{6}$/);
  await page.getByLabel('Message').waitFor();
  const roomId = new URL(page.url()).pathname.split('/').pop();
  return { ...opened, roomId };
}

/** Opens /room/{id} as a stranger and joins as `name` through the name prompt. */
export async function joinByLink(browser, baseURL, roomId, name, viewport = DESKTOP) {
  const opened = await openPage(browser, baseURL, viewport);
  const { page } = opened;
  await page.goto(`/room/${roomId}`);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join room' }).click();
  await page.getByLabel('Message').waitFor();
  return opened;
}

/** The participants-list row for a name. */
export function personRow(page, name) {
  return page.locator('#participants li', { has: page.locator('.person-name', { hasText: name }) });
}

/** Waits until the connection status reads "Live". */
export async function waitLive(page) {
  await page.locator('#conn-status[data-state="live"]').waitFor();
}
