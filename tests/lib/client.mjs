// Small clients for the integration tests: JSON over HTTP, and event subscribers over
// WebSocket (the `ws` package) and EventSource (parsed by hand from a streaming fetch).
import WebSocket from 'ws';

export function api(baseUrl) {
  return async function request(method, path, body, token, extraHeaders = {}) {
    const headers = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined && body !== null) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        payload = body;
      } else {
        payload = JSON.stringify(body);
      }
      if (!('content-type' in headers)) headers['content-type'] = 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
}

// A queue of events with a way to wait for the next one matching a predicate.
class EventQueue {
  constructor() { this.events = []; this.waiters = []; this.closed = false; }
  // A coalesced user.presence or user.joined ({users: [...]}) is queued as one event per member,
  // so that a test waits for a member's change whatever the batching (q.raw keeps the frames
  // as sent).
  push(event) {
    if (this.ignore?.(event)) return;
    if ((event?.type === 'user.presence' || event?.type === 'user.joined') && Array.isArray(event.data?.users)) {
      for (const u of event.data.users) this.events.push({ ...event, data: u, batch: event.data.users.length });
    } else {
      this.events.push(event);
    }
    for (const w of [...this.waiters]) w.check();
  }
  next(pred = () => true, timeoutMs = 3000) {
    const match = typeof pred === 'string' ? (e) => e.type === pred : pred;
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const i = this.events.findIndex(match);
          if (i >= 0) {
            const [e] = this.events.splice(i, 1);
            clearTimeout(waiter.timer);
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            resolve(e);
          }
        },
      };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching event within ${timeoutMs} ms; have ${JSON.stringify(this.events.map((e) => e.type))}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      waiter.check();
    });
  }
}

// A single-use subscription ticket for a member's token (POST .../events/ticket).
export async function ticketFor(baseUrl, roomId, token) {
  const res = await fetch(`${baseUrl}/api/rooms/${roomId}/events/ticket`, {
    method: 'POST', headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  if (res.status !== 201) {
    const err = new Error(`ticket refused: ${res.status} ${JSON.stringify(body)}`);
    err.status = res.status;
    throw err;
  }
  return body.ticket;
}

// Opens a WebSocket subscription the way browsers do (a fresh ticket in the URL); resolves
// once open, rejects with the HTTP status if refused. opts.query replaces the query string
// (hostile tests), opts.headers adds handshake headers.
export async function subscribeWs(port, roomId, token, opts = {}) {
  let query = opts.query;
  if (query === undefined) {
    query = token !== undefined ? `?ticket=${encodeURIComponent(await ticketFor(`http://127.0.0.1:${port}`, roomId, token))}` : '';
  }
  const q = await openWs(`ws://127.0.0.1:${port}/api/rooms/${roomId}/events${query}`, opts.headers);
  if (process.env.WNC_TEST_CLUSTER === '1' && opts.query === undefined && token !== undefined) {
    await untilLive(`http://127.0.0.1:${port}`, roomId, token, q);
  }
  return q;
}

// On the scale-out shape (make test-cluster) a stream on nchan's Redis storage misses what is
// published in its first milliseconds, before its worker's Redis subscription is active
// (docs/scaling.md, known limits). A page fetches the state after subscribing, which covers
// that; a test waiting for the next event would wait in vain. So there a new stream is
// returned once live: its member toggles its typing flag (no seq, its own rate limit) until
// its own typing event arrives, turns it off again, and the probe's events leave the queue,
// as do its own typing events for 2 s more (a toggle sent before the stream was live may
// still come through the other instance). A member that may not type (muted) gets a pause
// instead.
export async function untilLive(baseUrl, roomId, token, q) {
  const type = (typing) => fetch(`${baseUrl}/api/rooms/${roomId}/typing`, {
    method: 'POST', body: JSON.stringify({ typing }),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  }).then((r) => r.status);
  for (let i = 0; i < 40; i++) {
    if (await type(true) !== 204) return sleep(300);
    const on = await q.next((e) => e.type === 'typing' && e.data.typing, 250).catch(() => null);
    if (await type(false) !== 204) return sleep(300);
    if (!on) continue;
    await q.next((e) => e.type === 'typing' && !e.data.typing && e.data.userId === on.data.userId, 2000)
      .catch(() => {});
    const probe = (e) => e?.type === 'typing' && e.data?.userId === on.data.userId;
    q.events = q.events.filter((e) => !probe(e));
    const until = Date.now() + 2000;
    q.ignore = (e) => Date.now() < until && probe(e);
    return;
  }
  throw new Error('the subscription never became live');
}

export function openWs(url, headers = {}) {
  const q = new EventQueue();
  const ws = new WebSocket(url, { headers });
  q.ws = ws;
  q.raw = [];
  ws.on('message', (m) => { q.raw.push(String(m)); q.push(JSON.parse(String(m))); });
  q.closedPromise = new Promise((resolve) => ws.on('close', (code) => { q.closed = true; resolve(code); }));
  q.close = () => ws.close();
  q.terminate = () => ws.terminate();
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve(q));
    ws.on('unexpected-response', (req, res) => {
      const err = new Error(`subscription refused: ${res.statusCode}`);
      err.status = res.statusCode;
      reject(err);
    });
    ws.on('error', reject);
  });
}

// Reads a text/event-stream body: calls onData with each event's `data:` lines joined; resolves
// when the stream ends or is aborted.
export async function readEventStream(body, onData) {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let idx;
      while ((idx = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, idx);
        buffer = buffer.slice(idx + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
        if (data) onData(data);
      }
    }
  } catch { /* aborted */ }
}

// An EventSource subscriber: fetch with Accept: text/event-stream, parse `data:` lines.
export async function subscribeSse(baseUrl, roomId, token, opts = {}) {
  const q = new EventQueue();
  const controller = new AbortController();
  const query = opts.query ?? `?ticket=${encodeURIComponent(await ticketFor(baseUrl, roomId, token))}`;
  const res = await fetch(`${baseUrl}/api/rooms/${roomId}/events${query}`, {
    headers: { accept: 'text/event-stream', ...(opts.headers || {}) }, signal: controller.signal,
  });
  q.status = res.status;
  q.contentType = res.headers.get('content-type');
  q.close = () => controller.abort();
  if (res.status !== 200) return q;
  readEventStream(res.body, (data) => q.push(JSON.parse(data))).then(() => { q.closed = true; });
  return q;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn every everyMs until it gives a truthy value (returned), or throws after timeoutMs.
export async function waitFor(fn, timeoutMs = 5000, what = 'a condition', everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
