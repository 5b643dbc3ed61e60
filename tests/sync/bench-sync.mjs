#!/usr/bin/env node
/*
 * make bench-sync: how closely real browsers follow the room's video state.
 *
 *   node tests/sync/bench-sync.mjs [--quick]
 *
 * Starts a private stack (tests/lib/stack.mjs), makes a test video with
 * ffmpeg (cached in var/media/), serves it with Range support, opens one host
 * and several viewers in headless Chromium (some with their clocks skewed by
 * seconds through Date.now/performance.now), drives set/play/seek/rate/pause
 * through the REST API, and samples every page's video.currentTime every
 * 100 ms against the position the server's state implies at that instant.
 *
 * Honest measurement: each sample is stamped in the page with the real
 * clock (performance.timeOrigin + the original performance.now, saved before
 * the skew is installed), the stack runs on the same machine, and the
 * remaining offset between this process's clock and /api/time is measured
 * and applied. The expected position comes from the server's own answers.
 *
 * Then the scheduled starts of issue 17 (tests/sync/starts.mjs): the main
 * video runs to its end and the room plays the next queue item by itself
 * (auto-advance), and a wait for everyone pauses and resumes the room (a
 * viewer's buffering reported through the API); for each, how far apart the
 * pages start playing (goal: 50 ms).
 *
 * --quick: a ~55 s scenario for CI; it asserts only that it measured.
 * Writes results/bench-sync-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { testVideo, startMediaServer } from './media.mjs';
import { errors, summarize, percentile } from './analyze.mjs';
import { startSpread } from './starts.mjs';
import { startStack } from '../lib/stack.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const SAMPLE_MS = 100;

/* Scenario: [action, body, seconds to hold afterwards]. */
const SCENARIO = QUICK
  ? { video: 60, steps: [['play', 0, 7], ['seek', 20, 5], ['join', null, 5], ['rate', 1.5, 4], ['rate', 1, 3], ['pause', null, 1.5], ['play', null, 5], ['seek', 5, 4], ['pause', null, 1]] }
  : { video: 300, steps: [['play', 0, 60], ['seek', 90, 30], ['join', null, 30], ['rate', 1.5, 20], ['rate', 1, 20], ['pause', null, 3], ['play', null, 30], ['seek', 30, 30], ['pause', null, 2]] };

/* Participants: name, clock skew (ms), late joiner? */
const PEOPLE = [
  { name: 'host', skew: -2000, host: true },
  { name: 'viewer1', skew: 0 },
  { name: 'viewer2', skew: 5000 },
  { name: 'viewer3', skew: -5000 },
  { name: 'late4', skew: 3000, late: true },
];

const INIT = (skew) => `(() => {
  const SKEW = ${skew};
  const realPerf = performance.now.bind(performance);
  const realDate = Date.now;
  if (SKEW) {
    Date.now = () => realDate() + SKEW;
    performance.now = () => realPerf() + SKEW;
  }
  const samples = [];
  const events = [];
  let timer = null;
  Object.defineProperty(window, '__bench', { value: Object.freeze({
    start(ms) {
      if (timer) return;
      timer = setInterval(() => {
        const v = document.querySelector('video');
        const a = document.querySelector('.wnc-video');
        const st = a && a.wncArea ? a.wncArea.stats() : null;
        samples.push([realPerf(), v ? v.currentTime : NaN, v ? v.playbackRate : NaN, v ? v.paused : true, st ? st.error : NaN, realDate(), st ? st.offset : NaN]);
      }, ms);
    },
    take() { return { samples: samples.splice(0), events: events.splice(0), timeOrigin: performance.timeOrigin }; },
  }) });
  for (const type of ['seeking', 'seeked', 'ratechange', 'waiting', 'playing', 'pause', 'play', 'stalled', 'error']) {
    document.addEventListener(type, (e) => {
      if (e.target instanceof HTMLMediaElement) events.push([realPerf(), type, e.target.currentTime, e.target.playbackRate]);
    }, true);
  }
})();`;

const SKEW_OF = (p) => p.skew;
/* A page's wall clock minus its monotonic clock (ms): see the participants' loop. */
const pageWall = (got) => got.samples.map((x) => x[5] + 0.5 - x[0]).sort((a, b) => a - b)[got.samples.length >> 1];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(base, method, p, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error(`${method} ${p} -> ${r.status} ${text}`);
  return data;
}

/* Offset of the server clock against ours (ms), from the min-RTT sample. */
async function serverOffset(base) {
  let best = null;
  for (let i = 0; i < 15; i++) {
    const t0 = performance.timeOrigin + performance.now();
    const { now } = await api(base, 'GET', '/api/time');
    const t1 = performance.timeOrigin + performance.now();
    const s = { offset: now - (t0 + t1) / 2, rtt: t1 - t0 };
    if (!best || s.rtt < best.rtt) best = s;
  }
  return best;
}

async function main() {
  const t0 = Date.now();
  const loadBefore = os.loadavg();
  const file = await testVideo({ seconds: SCENARIO.video });
  const stack = await startStack({
    env: { WNC_RATE_LIMIT: '100000', WNC_CONTROL_RATE: '10000', WNC_CHAT_RATE: '1000', WNC_MAX_SUBS_PER_IP: '1000', WNC_SYNC_INTERVAL_MS: '2000', WNC_GRACE_MS: '30000' },
  });
  /* The same file under a second name: the next queue item is new media to load. */
  const media = await startMediaServer({ '/sync.webm': file, '/next.webm': file });
  const origin = stack.url;
  const videoUrl = `${media.url}/sync.webm`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--disable-background-media-suspend', '--disable-renderer-backgrounding', '--disable-background-timer-throttling'],
  });
  const problems = [];
  try {
    const clockCheck = await serverOffset(origin);
    const created = await api(origin, 'POST', '/api/rooms', { hostName: 'BenchHost' });
    const roomId = created.roomId;
    const hostToken = created.token;
    for (const p of PEOPLE) {
      if (p.host) Object.assign(p, { token: hostToken, userId: created.userId });
      else {
        const j = await api(origin, 'POST', `/api/rooms/${roomId}/join`, { userName: `Bench ${p.name}` });
        Object.assign(p, { token: j.token, userId: j.userId });
      }
    }

    async function open(p) {
      const ctx = await browser.newContext({ viewport: { width: 800, height: 600 } });
      await ctx.addInitScript(INIT(p.skew));
      const page = await ctx.newPage();
      page.on('pageerror', (e) => problems.push(`${p.name}: page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`${p.name}: console: ${m.text()}`);
      });
      p.ctx = ctx;
      p.page = page;
      p.samples = [];
      p.events = [];
      p.joinedAt = Date.now() + clockCheck.offset;
      await ctx.addInitScript(({ roomId: r, id }) => {
        sessionStorage.setItem(`wnc:identity:${r}`, JSON.stringify(id));
      }, { roomId, id: { userId: p.userId, token: p.token, name: `Bench ${p.name}` } });
      await page.goto(`${origin}/room/${roomId}`);
      await page.evaluate((ms) => window.__bench.start(ms), SAMPLE_MS);
      await page.waitForSelector('.wnc-video', { timeout: 15000 });
    }

    const early = PEOPLE.filter((p) => !p.late);
    await Promise.all(early.map(open));
    const timeline = [];
    const windows = [];
    const act = async (name, p, body) => {
      const r = await api(origin, name === 'set' ? 'PUT' : 'POST', p, body, hostToken);
      timeline.push({ name, video: r.video });
      if (windows.length) windows.at(-1).end = r.video.updatedAt;
      windows.push({ name, start: r.video.updatedAt, end: Infinity, playing: r.video.playing });
      return r.video;
    };

    let video = await act('set', `/api/rooms/${roomId}/video`, { url: videoUrl });
    /* Every page has loaded the media (paused at 0) before the clock starts. */
    try {
      await Promise.all(early.map((p) => p.page.waitForFunction(() => document.querySelector('.wnc-video')?.dataset.status === 'paused', null, { timeout: 20000 })));
    } catch (err) {
      for (const p of early) {
        const d = await p.page.evaluate(() => ({ status: document.querySelector('.wnc-video')?.dataset.status, text: document.body.innerText.slice(0, 300) })).catch((e) => e.message);
        console.error(`${p.name}: ${JSON.stringify(d)}`);
      }
      console.error(problems.join('\n'));
      throw err;
    }
    await sleep(1000);

    const expectedNow = () => {
      const t = Date.now() + clockCheck.offset;
      return video.playing ? video.position + ((t - video.updatedAt) / 1000) * video.rate : video.position;
    };
    for (const [op, arg, hold] of SCENARIO.steps) {
      const base = `/api/rooms/${roomId}/video`;
      if (op === 'play') video = await act('play', `${base}/play`, { position: arg ?? video.position });
      else if (op === 'pause') video = await act('pause', `${base}/pause`, { position: expectedNow() });
      else if (op === 'seek') video = await act(`seek ${arg}`, `${base}/seek`, { position: arg });
      else if (op === 'rate') video = await act(`rate ${arg}`, `${base}/rate`, { rate: arg });
      else if (op === 'join') {
        for (const p of PEOPLE.filter((x) => x.late)) {
          p.joinStart = Date.now() + clockCheck.offset;
          await open(p);
          p.joinedAt = p.joinStart;
        }
      }
      process.stdout.write(`  ${op}${arg !== null && arg !== undefined ? ` ${arg}` : ''} (holding ${hold} s)\n`);
      await sleep(hold * 1000);
    }
    windows.at(-1).end = Date.now() + clockCheck.offset;

    const duration = SCENARIO.video;
    const report = { participants: {}, events: windows.map((w) => ({ name: w.name, at: w.start, playing: w.playing })) };
    for (const p of PEOPLE) {
      const got = await p.page.evaluate(() => window.__bench.take());
      /*
       * Page monotonic ms -> wall clock: performance.timeOrigin can be tens
       * of ms away from the system clock, so map with the median of
       * (Date.now - performance.now) over all samples (both unskewed
       * originals; +0.5 for Date.now's truncation), then to the server clock.
       */
      const wall = pageWall(got);
      const shift = wall + clockCheck.offset;
      /* How far the page's own server-clock estimate is from the truth. */
      const engineClock = got.samples.filter((x) => Number.isFinite(x[6])).map((x) => x[6] + SKEW_OF(p) - shift);
      p.pageClock = {
        timeOriginMinusWallMs: Math.round((got.timeOrigin - wall) * 100) / 100,
        engineClockSeries: [...new Set(got.samples.filter((x) => Number.isFinite(x[6])).map((x) => Math.round((x[6] + SKEW_OF(p) - shift) * 10) / 10))],
        engineClockErrorMs: engineClock.length ? Math.round(engineClock.sort((a, b) => a - b)[engineClock.length >> 1] * 100) / 100 : null,
      };
      const samples = got.samples.map(([t, ...r]) => [t + shift, ...r]);
      const events = got.events.map(([t, ...r]) => [t + shift, ...r]);
      const errs = errors(samples, timeline, duration);
      const ws = windows.map((w) => ({ ...w }));
      if (p.late) ws.unshift({ name: 'join', start: p.joinedAt, end: ws.find((w) => w.start > p.joinedAt)?.start ?? Infinity, playing: true });
      const lateWs = p.late ? ws.filter((w) => w.name === 'join' || w.start >= p.joinedAt) : ws;
      const firstPlayer = samples.find((x) => Number.isFinite(x[1]));
      const playerAt = firstPlayer ? firstPlayer[0] : Infinity;
      const s = summarize({ errs, events, windows: lateWs, joinedAt: p.late ? p.joinedAt : -Infinity, playerAt: p.late ? playerAt : -Infinity });
      if (p.late) s.pageToPlayerMs = Math.round(playerAt - p.joinedAt);
      const stats = await p.page.evaluate(() => document.querySelector('.wnc-video')?.wncArea?.stats() ?? null).catch(() => null);
      report.participants[p.name] = { skewMs: p.skew, late: !!p.late, pageClock: p.pageClock, ...s, engine: stats, trace: errs.map((e) => [Math.round(e.t), Math.round(e.err * 10000) / 10, Math.round(e.rate * 1000) / 1000, Math.round(e.engineErr * 10000) / 10]) };
    }

    /* Scheduled starts (issue 17): an auto-advance, then a wait for everyone. */
    report.starts = {};
    const take = async () => Promise.all(PEOPLE.map(async (p) => {
      const got = await p.page.evaluate(() => window.__bench.take());
      const shift = pageWall(got) + clockCheck.offset;
      return { name: p.name, samples: got.samples.map(([t, ...r]) => [t + shift, ...r]) };
    }));
    const roomState = async () => (await api(origin, 'GET', `/api/rooms/${roomId}`, undefined, hostToken)).room;
    const until = async (pred, what, ms = 20000) => {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
        const r = await roomState();
        if (pred(r)) return r;
      }
      throw new Error(`bench-sync: ${what} did not happen within ${ms} ms`);
    };
    const base = `/api/rooms/${roomId}`;
    await api(origin, 'POST', `${base}/queue`, { url: `${media.url}/next.webm` }, hostToken);
    await api(origin, 'POST', `${base}/video/play`, { position: duration - 3 }, hostToken);
    process.stdout.write('  auto-advance: the last 3 s, then the next item\n');
    const advanced = (await until((r) => r.video.url.endsWith('/next.webm'), 'the auto-advance')).video;
    await sleep(Math.max(0, advanced.updatedAt - (Date.now() + clockCheck.offset)) + 3000);
    report.starts.autoAdvance = { video: advanced, ...startSpread(await take(), advanced) };
    await api(origin, 'PATCH', `${base}/settings`, { waitForAll: true }, hostToken);
    const slow = PEOPLE.find((p) => p.name === 'viewer1');
    await api(origin, 'POST', `${base}/buffering`, { buffering: true, position: 0 }, slow.token);
    process.stdout.write('  wait for everyone: viewer1 buffering, then ready\n');
    await until((r) => r.waiting !== null, 'the wait');
    await sleep(1000);
    await api(origin, 'POST', `${base}/buffering`, { buffering: false, position: 0 }, slow.token);
    const resumed = (await until((r) => r.video.playing, 'the resume')).video;
    await sleep(Math.max(0, resumed.updatedAt - (Date.now() + clockCheck.offset)) + 3000);
    report.starts.waitResume = { video: resumed, ...startSpread(await take(), resumed) };

    /* Print. */
    const line = (cols) => cols.map((c, i) => String(c ?? '-').padStart(i ? 13 : 9)).join(' ');
    console.log(`\nbench-sync ${QUICK ? '(quick) ' : ''}page=room; server clock offset ${clockCheck.offset.toFixed(2)} ms (rtt ${clockCheck.rtt.toFixed(2)} ms); load average ${loadBefore[0].toFixed(1)} -> ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
    console.log(line(['who', 'skew ms', 'median ms', 'p95 ms', 'max ms', 'steady s', 'seeks', 'rate chg', 'rc/min*']));
    for (const [name, r] of Object.entries(report.participants)) {
      console.log(line([name, r.skewMs, r.medianMs, r.p95Ms, r.maxMs, r.steadySeconds, r.seeks, r.rateChanges, r.steadyRateChangesPerMin]));
    }
    console.log('  * rate changes per minute in steady state');
    console.log('\nafter each event: ms until first within 100 ms / ms until it stays within 100 ms / seeks in the window:');
    const evNames = [...new Set(Object.values(report.participants).flatMap((r) => r.perEvent.map((e) => e.event)))];
    console.log(line(['event', ...Object.keys(report.participants)]));
    for (const ev of evNames) {
      console.log(line([ev.slice(0, 9), ...Object.values(report.participants).map((r) => {
        const e = r.perEvent.find((x) => x.event === ev);
        const ms = (x) => (x === null ? 'never' : Math.round(x));
        return e ? `${ms(e.firstWithinMs)}/${ms(e.convergeMs)}/${e.seeks}` : '';
      })]));
    }
    const all = Object.values(report.participants);
    const worst = {
      medianMs: Math.max(...all.map((r) => r.medianMs ?? Infinity)),
      p95Ms: Math.max(...all.map((r) => r.p95Ms ?? Infinity)),
      convergeMs: Math.max(...all.flatMap((r) => r.perEvent.filter((e) => e.event !== 'set').map((e) => e.convergeMs ?? Infinity))),
    };
    for (const [name, r] of Object.entries(report.participants)) {
      if (r.pageToPlayerMs !== undefined) console.log(`${name}: navigation start to <video> element ${r.pageToPlayerMs} ms (page load, room fetch, realtime; included in its join time)`);
    }
    console.log(`\nworst participant: median ${worst.medianMs} ms, p95 ${worst.p95Ms} ms; slowest convergence ${worst.convergeMs} ms`);
    console.log('\nscheduled starts: each page\'s start after updatedAt (ms), and the spread (goal 50 ms):');
    for (const [name, s] of Object.entries(report.starts)) {
      console.log(`  ${name.padEnd(12)} spread ${s.spreadMs ?? 'n/a'} ms; ${Object.entries(s.starts).map(([who, ms]) => `${who} ${ms ?? 'never'}`).join(', ')}`);
    }
    if (problems.length) console.log(`page problems:\n  ${problems.slice(0, 10).join('\n  ')}`);

    const out = {
      when: new Date().toISOString(),
      mode: QUICK ? 'quick' : 'full',
      page: 'room',
      sampleMs: SAMPLE_MS,
      scenario: SCENARIO,
      serverClock: clockCheck,
      goals: { medianMs: 50, p95Ms: 100, convergeMs: 1500, convergedWithinMs: 100, startSpreadMs: 50 },
      worst,
      machine: { cpus: os.cpus().length, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
      problems,
      ...report,
      elapsedS: Math.round((Date.now() - t0) / 1000),
    };
    mkdirSync(path.join(ROOT, 'results'), { recursive: true });
    const outFile = path.join(ROOT, 'results', `bench-sync-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(outFile, JSON.stringify(out, null, 1));
    console.log(`wrote ${path.relative(ROOT, outFile)} (${out.elapsedS} s)`);

    /* Only "did it measure": every participant has steady-state samples. */
    const measured = all.every((r) => r.steadySamples > 0) && Object.values(report.starts).every((s) => s.spreadMs !== null);
    if (!measured) {
      console.error('bench-sync: some participant produced no steady-state samples, or some page never started a scheduled start');
      process.exitCode = 1;
    }
  } finally {
    await browser.close().catch(() => {});
    await media.close().catch(() => {});
    await stack.stop().catch(() => {});
  }
}

main().catch((err) => {
  console.error(`bench-sync: ${err.stack || err}`);
  process.exit(1);
});
