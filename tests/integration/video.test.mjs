// Video routes and sync beacons, server side (issue 5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { api, subscribeWs, sleep } from '../lib/client.mjs';
import { makeRoom, snapshot } from '../lib/room.mjs';

let stack, req;
before(async () => {
  stack = await startStack({ env: { WNC_SYNC_INTERVAL_MS: '300' } });
  req = api(stack.url);
});
after(async () => { await stack?.stop(); });

const kinds = [
  ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', 'youtube', 'dQw4w9WgXcQ'],
  ['https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=10', 'youtube', 'dQw4w9WgXcQ'],
  ['https://youtu.be/dQw4w9WgXcQ?si=abc', 'youtube', 'dQw4w9WgXcQ'],
  ['https://www.youtube.com/shorts/abcdefghijk', 'youtube', 'abcdefghijk'],
  ['https://www.youtube.com/embed/A_b-C_d-E_f', 'youtube', 'A_b-C_d-E_f'],
  ['https://m.youtube.com/watch?v=dQw4w9WgXcQ', 'youtube', 'dQw4w9WgXcQ'],
  ['https://cdn.example.com/live/master.m3u8?token=1', 'hls', null],
  ['http://example.com/Stream.M3U8', 'hls', null],
  ['https://example.com/movie.mp4', 'file', null],
  ['https://example.com/clip.webm#t=3', 'file', null],
  ['http://127.0.0.1:9000/video', 'file', null],
];

test('PUT video detects the kind and resets playback; the event carries the full state', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const ws = await subscribeWs(stack.port, roomId, bob.token);
  for (const [url, kind, videoId] of kinds) {
    const t0 = Date.now();
    const res = await req('PUT', `/api/rooms/${roomId}/video`, { url }, host.token);
    assert.equal(res.status, 200, `${url}: ${res.text}`);
    const v = res.json.video;
    assert.deepEqual({ url: v.url, kind: v.kind, videoId: v.videoId, playing: v.playing, position: v.position, rate: v.rate },
      { url, kind, videoId, playing: false, position: 0, rate: 1 }, url);
    assert.ok(v.updatedAt >= t0 - 1000 && v.updatedAt <= Date.now() + 1000);
    const ev = await ws.next('video.set');
    assert.deepEqual(ev.data.video, v);
  }
  assert.equal((await req('GET', `/api/rooms/${roomId}`)).json.hasVideo, true);
  ws.terminate();
});

test('play, pause, seek and rate: server-stamped state, host only, continuous timeline', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  const noVideo = await req('POST', `/api/rooms/${roomId}/video/play`, { position: 0 }, host.token);
  assert.equal(noVideo.status, 409);
  assert.equal(noVideo.json.error.code, 'no_video');
  await req('PUT', `/api/rooms/${roomId}/video`, { url: 'https://example.com/a.mp4' }, host.token);
  const ws = await subscribeWs(stack.port, roomId, bob.token);

  const play = await req('POST', `/api/rooms/${roomId}/video/play`, { position: 12.5 }, host.token);
  assert.equal(play.status, 200);
  assert.equal(play.json.video.playing, true);
  assert.equal(play.json.video.position, 12.5);
  const evPlay = await ws.next('video.play');
  assert.deepEqual(evPlay.data.video, play.json.video);

  await sleep(200);
  const rate = await req('POST', `/api/rooms/${roomId}/video/rate`, { rate: 2 }, host.token);
  const r = rate.json.video;
  const expected = 12.5 + (r.updatedAt - play.json.video.updatedAt) / 1000;
  assert.ok(Math.abs(r.position - expected) < 0.002, `re-anchored at ${r.position}, expected ${expected}`);
  assert.equal(r.rate, 2);
  assert.equal(r.playing, true);
  await ws.next('video.rate');

  const seek = await req('POST', `/api/rooms/${roomId}/video/seek`, { position: 60 }, host.token);
  assert.equal(seek.json.video.position, 60);
  assert.equal(seek.json.video.playing, true, 'seek keeps playing');
  await ws.next('video.seek');

  const pause = await req('POST', `/api/rooms/${roomId}/video/pause`, { position: 61.25 }, host.token);
  assert.deepEqual([pause.json.video.playing, pause.json.video.position, pause.json.video.rate], [false, 61.25, 2]);
  await ws.next('video.pause');
  const seekPaused = await req('POST', `/api/rooms/${roomId}/video/seek`, { position: 5 }, host.token);
  assert.equal(seekPaused.json.video.playing, false, 'seek keeps paused');

  const before = await snapshot(req, roomId, host.token);
  for (const [p, body] of [['play', { position: 1 }], ['pause', { position: 1 }], ['seek', { position: 1 }], ['rate', { rate: 1 }]]) {
    const res = await req('POST', `/api/rooms/${roomId}/video/${p}`, body, bob.token);
    assert.equal(res.status, 403, p);
    assert.equal(res.json.error.code, 'not_host');
  }
  assert.equal((await req('PUT', `/api/rooms/${roomId}/video`, { url: 'https://evil.example/x.mp4' }, bob.token)).status, 403);
  assert.deepEqual(await snapshot(req, roomId, host.token), before);
  // A promoted member may control playback.
  await req('POST', `/api/rooms/${roomId}/users/${bob.userId}/promote`, null, host.token);
  assert.equal((await req('POST', `/api/rooms/${roomId}/video/play`, { position: 5 }, bob.token)).status, 200);
  ws.terminate();
});

test('pushd publishes video.sync beacons while playing, and stops when paused', async () => {
  const { roomId, host, guests: [bob] } = await makeRoom(req, 'Alice', ['Bob']);
  await req('PUT', `/api/rooms/${roomId}/video`, { url: 'https://example.com/a.mp4' }, host.token);
  const ws = await subscribeWs(stack.port, roomId, bob.token);
  const play = await req('POST', `/api/rooms/${roomId}/video/play`, { position: 3 }, host.token);
  await ws.next('video.play');
  const b1 = await ws.next('video.sync', 2000);
  const b2 = await ws.next('video.sync', 2000);
  assert.deepEqual(b1.data.video, play.json.video);
  assert.equal(b1.seq, (await snapshot(req, roomId, host.token)).room.seq, 'beacons do not advance seq');
  assert.ok(b2.at - b1.at >= 250 && b2.at - b1.at < 1500, `interval ${b2.at - b1.at} ms`);
  const pause = await req('POST', `/api/rooms/${roomId}/video/pause`, { position: 4 }, host.token);
  assert.equal(pause.status, 200, pause.text);
  await ws.next('video.pause');
  await sleep(900);
  ws.events.length = 0;
  await sleep(900);
  assert.equal(ws.events.filter((e) => e.type === 'video.sync').length, 0);
  ws.terminate();
});

test('per-member control rate limit', async () => {
  const s = await startStack({ env: { WNC_CONTROL_RATE: '5', WNC_CHAT_RATE: '3' } });
  try {
    const r = api(s.url);
    const { roomId, host } = await makeRoom(r, 'Alice');
    await r('PUT', `/api/rooms/${roomId}/video`, { url: 'https://example.com/a.mp4' }, host.token);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await r('POST', `/api/rooms/${roomId}/video/seek`, { position: i }, host.token)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    const limited = await r('POST', `/api/rooms/${roomId}/video/seek`, { position: 1 }, host.token);
    assert.equal(limited.json.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const chats = [];
    for (let i = 0; i < 4; i++) chats.push((await r('POST', `/api/rooms/${roomId}/chat`, { text: `x${i}` }, host.token)).status);
    assert.deepEqual(chats, [201, 201, 201, 429]);
  } finally {
    await s.stop();
  }
});

test('per-IP rate limit with headers; /health exempt; subscriptions per IP capped', async () => {
  const s = await startStack({ env: { WNC_RATE_LIMIT: '12', WNC_MAX_SUBS_PER_IP: '2' } });
  try {
    const r = api(s.url);
    const { roomId, host } = await makeRoom(r, 'Alice'); // 1 request
    // A ticket needs the member's token: limited per member, not per address.
    const a = await subscribeWs(s.port, roomId, host.token); // 2 (the subscription)
    const b = await subscribeWs(s.port, roomId, host.token); // 3
    await sleep(200);
    const third = await r('GET', `/api/rooms/${roomId}/events`, null, host.token, { accept: 'text/event-stream' }); // 4
    assert.equal(third.status, 429);
    assert.equal(third.json.error.code, 'rate_limited');
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    a.close();
    await sleep(300);
    const c = await subscribeWs(s.port, roomId, host.token); // 5
    c.terminate(); b.terminate();
    // Member actions do not count against the address either.
    for (let i = 0; i < 5; i++) {
      assert.equal((await r('POST', `/api/rooms/${roomId}/chat`, { text: `m${i}` }, host.token)).status, 201);
    }
    let res;
    for (let i = 0; i < 7; i++) res = await r('GET', '/api/time'); // 6..12
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-ratelimit-limit'), '12');
    assert.equal(res.headers.get('x-ratelimit-remaining'), '0');
    const over = await r('GET', '/api/time');
    assert.equal(over.status, 429);
    assert.equal(over.json.error.code, 'rate_limited');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal((await r('GET', '/health')).status, 200);
  } finally {
    await s.stop();
  }
});
