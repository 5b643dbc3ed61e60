// A browser page's event stream, in Node: the page's own web/js/events.js with what a page
// gives it (WebSocket, fetch on relative URLs, a ticket before each WebSocket/EventSource
// attempt, the state fetch). For the fault and soak suites. With handlers.userId the stream
// subscribes where the page does, at the channel its ticket names (/events/{channel}).
//
//   const stream = pageStream(stack, roomId, token, { userId, transports, onState, onEvent, ... });
import NodeWebSocket from 'ws';
import { createEventStream, eventsPath } from '../../web/js/events.js';

// The browser's WebSocket never throws on close-while-connecting; the ws package emits an
// 'error' event then, fatal without a listener.
class WebSocket extends NodeWebSocket {
  constructor(...args) { super(...args); this.on('error', () => {}); }
}

const failed = (res) => Object.assign(new Error(`status ${res.status}`), { status: res.status });

// handlers: createEventStream's callbacks and transports (see web/js/events.js).
export function pageStream(stack, roomId, token, handlers = {}) {
  const base = `${stack.url}/api/rooms/${roomId}`;
  const auth = { authorization: `Bearer ${token}` };
  return createEventStream({
    path: eventsPath(roomId),
    token,
    env: {
      WebSocket, setTimeout, clearTimeout,
      fetch: (url, opts) => fetch(new URL(url, stack.url), opts), // a page's relative URLs
      location: { protocol: 'http:', host: `127.0.0.1:${stack.port}` },
    },
    ticket: async () => {
      const res = await fetch(`${base}/events/ticket`, { method: 'POST', headers: auth }).catch(() => ({ status: 0 }));
      if (res.status !== 201) throw failed(res);
      const { ticket, channel } = await res.json();
      return { ticket, channel };
    },
    fetchState: async () => {
      const res = await fetch(base, { headers: auth }).catch(() => ({ status: 0 }));
      if (res.status !== 200) throw failed(res);
      return res.json();
    },
    ...handlers,
  });
}
