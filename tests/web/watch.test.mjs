/*
 * Watching together's pure parts: SRT to WebVTT, what a buffering report says, the waiting
 * text, a queue item's title.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { srtToVtt, toVtt } from '../../web/js/subtitles.js';
import { bufferingState, createBufferingReporter, waitingText } from '../../web/js/wait.js';
import { itemTitle } from '../../web/js/queue.js';

test('srtToVtt: header, dotted milliseconds, numbers dropped, CRLF and BOM, junk blocks skipped', () => {
  const srt = '\uFEFF1\r\n00:00:01,500 --> 00:00:03,000\r\nHello\r\n<i>there</i>\r\n\r\n2\r\n0:01:02,5 --> 0:01:03,25 align:start\r\nA --> B\r\n\r\nnot a cue\r\n\r\n3\r\n00:00:04,000 --> 00:00:05,000\r\n\r\n';
  assert.equal(srtToVtt(srt),
    'WEBVTT\n\n00:00:01.500 --> 00:00:03.000\nHello\n<i>there</i>\n\n00:01:02.500 --> 00:01:03.250 align:start\nA -> B\n');
  assert.equal(srtToVtt(''), 'WEBVTT\n\n\n');
  assert.equal(toVtt('WEBVTT\n\n00:00.000 --> 00:01.000\nx\n'), 'WEBVTT\n\n00:00.000 --> 00:01.000\nx\n');
  assert.match(toVtt('1\n00:00:00,000 --> 00:00:01,000\nx\n'), /^WEBVTT\n\n00:00:00\.000 --> 00:00:01\.000\nx\n$/);
});

test('bufferingState: stalled only while the room plays past its start; ready when it can play', () => {
  const v = { playing: true };
  assert.deepEqual(bufferingState({ video: v, status: 'buffering', startsInMs: 0 }), { stalled: true, ready: false });
  assert.deepEqual(bufferingState({ video: v, status: 'loading', startsInMs: 0 }), { stalled: true, ready: false });
  assert.deepEqual(bufferingState({ video: v, status: 'loading', startsInMs: 2000 }), { stalled: false, ready: true });
  assert.deepEqual(bufferingState({ video: v, status: 'playing', startsInMs: 0 }), { stalled: false, ready: true });
  assert.deepEqual(bufferingState({ video: { playing: false }, status: 'paused', readyToPlay: false }), { stalled: false, ready: false });
  assert.deepEqual(bufferingState({ video: { playing: false }, status: 'paused', readyToPlay: true }), { stalled: false, ready: true });
  assert.deepEqual(bufferingState({ video: null }), { stalled: false, ready: true });
});

test('the reporter sends each change once, retries a failure, starts over on reset', async () => {
  const sent = [];
  let fail = false;
  const r = createBufferingReporter(async (b) => {
    sent.push(b);
    if (fail) throw new Error('429');
  });
  const tick = async (stalled, ready) => {
    r.update({ stalled, ready, position: 1 });
    await new Promise((res) => setTimeout(res, 0));
  };
  await tick(false, true);
  await tick(true, false);
  await tick(true, false);
  await tick(false, false); /* no longer stalled, not ready yet: nothing */
  fail = true;
  await tick(false, true);
  fail = false;
  await tick(false, true);
  await tick(false, true);
  r.reset();
  await tick(true, false);
  assert.deepEqual(sent, [true, false, false, true]);
});

test('waitingText and itemTitle', () => {
  assert.equal(waitingText([]), '');
  assert.equal(waitingText(['Bob']), 'Waiting for Bob…');
  assert.equal(waitingText(['Bob', 'Carol']), 'Waiting for Bob and Carol…');
  assert.equal(waitingText(['Bob', 'Carol', 'Dan']), 'Waiting for Bob, Carol and 1 other…');
  assert.equal(waitingText(['Bob', 'Carol', 'Dan', 'Eve']), 'Waiting for Bob, Carol and 2 others…');
  assert.equal(itemTitle({ url: 'https://e.com/films/My%20Film.mp4?x=1', kind: 'file' }), 'My Film.mp4');
  assert.equal(itemTitle({ url: 'https://e.com/', kind: 'file' }), 'e.com');
  assert.equal(itemTitle({ url: 'https://youtu.be/dQw4w9WgXcQ', kind: 'youtube', videoId: 'dQw4w9WgXcQ' }), 'YouTube video dQw4w9WgXcQ');
  assert.equal(itemTitle({ url: 'https://e.com/a.mp4', kind: 'file', title: 'Named' }), 'Named');
  const titles = new Map([['dQw4w9WgXcQ', 'Never Gonna Give You Up']]);
  assert.equal(itemTitle({ url: 'https://youtu.be/dQw4w9WgXcQ', kind: 'youtube', videoId: 'dQw4w9WgXcQ' }, titles), 'Never Gonna Give You Up');
  assert.equal(itemTitle({ url: 'https://e.com/a.mp4', kind: 'file', videoId: null }, titles), 'a.mp4');
});

test('startSpread (tests/sync/starts.mjs): starts dated from samples, the spread between them', async () => {
  const { startSpread } = await import('../sync/starts.mjs');
  const video = { position: 10, rate: 1, updatedAt: 100000 };
  /* a starts on time, b 40 ms late, c never moves (paused): no start, no spread. */
  const run = (late) => Array.from({ length: 20 }, (_, i) => {
    const t = 100000 + i * 100;
    return [t, 10 + Math.max(0, t - 100000 - late) / 1000, 1, false];
  });
  const r = startSpread([{ name: 'a', samples: run(0) }, { name: 'b', samples: run(40) }], video);
  assert.deepEqual(r, { starts: { a: 0, b: 40 }, spreadMs: 40 });
  const c = startSpread([{ name: 'a', samples: run(0) }, { name: 'c', samples: run(0).map((s) => [s[0], 10, 1, true]) }], video);
  assert.deepEqual(c, { starts: { a: 0, c: null }, spreadMs: null });
});
