/*
 * Shared helpers for the browser tests: launching Debian's Chromium through
 * playwright-core with the team's flags, contexts at phone/desktop sizes,
 * screenshots, console-error collection, and the private stack.
 *
 *   const browser = await launchBrowser();
 *   const stack = await startTestStack({ WNC_GRACE_MS: '2000' });
 *   const { page } = await openPage(browser, stack.url, PHONE);
 *
 * WNC_BROWSER_BASE_URL=http://127.0.0.1:NNNN runs against a stack that is
 * already running instead of starting a private one (for debugging only).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1366, height: 900 };

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Launches headless Chromium (a playwright Browser); extra options are passed through. */
export function launchBrowser(options = {}) {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    ...options,
    args: [...CHROMIUM_ARGS, ...(options.args || [])],
  });
}

/**
 * Starts the private stack (tests/lib/stack.mjs) or, with WNC_BROWSER_BASE_URL,
 * uses a running one. Resolves to {url, stop()}.
 */
export async function startTestStack(env = {}) {
  if (process.env.WNC_BROWSER_BASE_URL) {
    return { url: process.env.WNC_BROWSER_BASE_URL.replace(/\/$/, ''), stop: async () => {} };
  }
  const { startStack } = await import('../../lib/stack.mjs');
  return startStack({ env });
}

/** Where screenshots go: $WNC_SCREENSHOT_DIR or var/screenshots/ (git-ignored). */
export function screenshotDir() {
  const dir = process.env.WNC_SCREENSHOT_DIR || path.join(REPO, 'var', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Saves a full-page screenshot as <dir>/<name>.png and returns its path. */
export async function shoot(page, name, options = {}) {
  const file = path.join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: false, animations: 'disabled', ...options });
  return file;
}

/**
 * Opens a new context (its own sessionStorage/localStorage, like another person)
 * and a page in it. Collects console errors and page errors in `errors`
 * (CSP violations show up there), and every URL the context requests in `urls`
 * (HTTP requests, EventSource and fetch included, plus WebSocket handshakes, which
 * Playwright reports as 'websocket' rather than 'request'; the WebSocket objects are
 * in `sockets`). Resolves to {context, page, errors, debug, urls, sockets}.
 */
export async function openPage(browser, baseURL, viewport = DESKTOP, extra = {}) {
  const context = await browser.newContext({
    baseURL,
    viewport,
    deviceScaleFactor: 1,
    isMobile: viewport.width < 500,
    hasTouch: viewport.width < 500,
    ...extra,
  });
  context.setDefaultTimeout(Number(process.env.WNC_BROWSER_TIMEOUT_MS || 10000));
  const page = await context.newPage();
  const errors = [];
  const debug = [];
  const urls = [];
  const sockets = [];
  context.on('request', (req) => urls.push(req.url()));
  page.on('websocket', (ws) => {
    urls.push(ws.url());
    sockets.push(ws);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    else if (msg.type() === 'debug') debug.push(`${Date.now() % 100000} ${msg.text()}`);
  });
  return { context, page, errors, debug, urls, sockets };
}

/** The URLs among `urls` that carry a bearer token in the query (there must be none). */
export function urlsWithToken(urls) {
  return urls.filter((u) => /[?&]token=/i.test(u));
}

/** Errors worth failing a test for (network 4xx answers we caused on purpose are expected). */
export function seriousErrors(errors) {
  return errors.filter(
    (e) => !/Failed to load resource: the server responded with a status of (4\d\d)/.test(e)
      && !/WebSocket connection to .* failed/.test(e),
  );
}
