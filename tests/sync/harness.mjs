/*
 * A minimal stand-in for the room page, for the sync benchmark and browser
 * tests: mounts the video area and feeds it the room's video state the way
 * DESIGN §4 says (subscribe, fetch the state, apply newer events). Identity
 * comes from the URL fragment: #room=ID&token=T&host=1.
 */
import { createVideoArea } from '/js/video-area.js';

const q = new URLSearchParams(location.hash.slice(1));
const roomId = q.get('room');
const token = q.get('token');
const statusEl = document.getElementById('harness-status');
const say = (s) => (statusEl.textContent = s);

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (r.ok) return data;
  const e = (data && data.error) || {};
  const err = new Error(e.message || `HTTP ${r.status}`);
  err.status = r.status;
  err.code = e.code || `http_${r.status}`;
  err.field = e.field || null;
  throw err;
}

const area = createVideoArea(document.getElementById('video-area'), {
  roomId,
  request,
  isHost: q.get('host') === '1',
  notify: (kind, text) => say(`${kind}: ${text}`),
});
window.__area = area;

let seq = -1;
let live = false;
let buffered = [];

function apply(ev) {
  if (ev.type && ev.type.startsWith('video.') && ev.data) area.setVideo(ev.data.video ?? null);
  if (typeof ev.seq === 'number' && ev.seq > seq) seq = ev.seq;
}

async function refetch() {
  const r = await request('GET', `/api/rooms/${roomId}`);
  seq = r.room.seq;
  area.setVideo(r.room.video);
  const me = (r.room.users || []).find((u) => u.id === r.userId);
  if (me) area.setHost(!!me.isHost);
  live = true;
  for (const ev of buffered) if (ev.seq > seq || ev.type === 'video.sync') apply(ev);
  buffered = [];
  say('live');
}

function connect() {
  live = false;
  buffered = [];
  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/rooms/${roomId}/events?token=${encodeURIComponent(token)}`);
  ws.onopen = () => refetch().catch((e) => say(`error: ${e.message}`));
  ws.onmessage = (m) => {
    let ev;
    try {
      ev = JSON.parse(m.data);
    } catch {
      return;
    }
    if (!live) return void buffered.push(ev);
    if (ev.type !== 'video.sync' && ev.type !== 'typing' && typeof ev.seq === 'number' && ev.seq > seq + 1) {
      refetch().catch(() => {});
      return;
    }
    if (ev.type === 'video.sync' || ev.seq > seq) apply(ev);
  };
  ws.onclose = () => {
    say('reconnecting');
    setTimeout(connect, 1000);
  };
}
connect();
