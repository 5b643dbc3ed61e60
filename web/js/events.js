/*
 * Realtime events for one room, with the resync protocol of docs/api.md.
 *
 * Transports, tried in order: WebSocket, EventSource, long-poll (a plain fetch
 * loop on the same path). A transport that fails before it ever opened hands
 * over to the next one; one that worked and then dropped is retried first.
 *
 * The bearer token never goes into a URL. WebSocket and EventSource cannot
 * send headers, so before every attempt the stream asks for a fresh
 * single-use ticket (POST .../events/ticket, through options.ticket) and
 * opens `path/{channel}?ticket=...&user=...` with the channel the ticket names
 * (nginx authorizes it through nchan_authorize_request, which costs a
 * connected viewer a third less memory than `path?ticket=...`, still used for
 * a ticket without a channel); a ticket is never used twice. Long-poll is a
 * fetch, so it sends `Authorization: Bearer <token>` instead. No request to
 * /events carries resume headers (If-None-Match, Last-Event-ID...): fetches
 * use cache 'no-store' and each EventSource is a new object.
 *
 * The channel is live only, so on every (re)connect: subscribe, buffer
 * events, fetch the room state, apply buffered events whose seq is greater
 * than state.room.seq, then go live. A gap in seq (an event that is not the
 * next one) triggers the same refetch, unless the missing events arrive within
 * REORDER_WAIT_MS. `typing`, `video.sync` and `reaction` do not advance seq; they carry
 * the current one.
 *
 * Everything environment-specific (WebSocket, EventSource, fetch, timers,
 * location) comes from `env` so the logic can be tested in Node.
 */

export const TRANSPORTS = ['ws', 'sse', 'poll'];
export const NON_ADVANCING = new Set(['typing', 'video.sync', 'reaction']);

const OPEN_TIMEOUT_MS = 8000;
const POLL_OPEN_AFTER_MS = 300;
const POLL_FAST_MS = 50;
/*
 * Each long-poll request is also the member's sign of life (nchan fires no presence hooks for
 * long-poll), so never let one hang longer than half the server's default 30 s grace period.
 */
const POLL_MAX_MS = 15000;
const REFETCH_RETRY_MS = 2000;
/*
 * Events may reach us slightly out of seq order: pushd's beacons and heartbeats and the
 * workers' events travel to nchan over different connections, so a beacon stamped with the
 * newest seq can overtake the event that advanced it (measured under load: thousands of
 * such swaps a minute, each of which cost every viewer a refetch). An event ahead of the next
 * seq is therefore held this long for the missing ones before the gap costs a refetch.
 */
const REORDER_WAIT_MS = 1000;
/*
 * Events published between two long-poll requests are lost, and a lost *last* event leaves no
 * gap to notice; so in long-poll mode the state is fetched again once events go quiet.
 */
const POLL_SETTLE_MS = 700;
const RETRY_AFTER_DROP_MS = 1000;
const RETRY_NEXT_TRANSPORT_MS = 200;
const BACKOFF_MS = [1000, 2000, 5000, 10000, 20000];
/* A ticket request that has not answered by then counts as a failed attempt. */
const TICKET_TIMEOUT_MS = 8000;
/*
 * The server sends a `heartbeat` event on every room's channel (data.every: its period, ms).
 * A WebSocket/EventSource stream that stays silent for HEARTBEAT_MISSED periods is treated as
 * dropped: after an nginx worker crash, nchan can leave a subscription open that hears nothing.
 */
const HEARTBEAT_DEFAULT_MS = 15000;
const HEARTBEAT_MISSED = 3;
/* Transports that need a ticket (they cannot send an Authorization header). */
const NEEDS_TICKET = new Set(['ws', 'sse']);

/** True for errors that mean this tab can never continue in the room. */
export function isFatal(err) {
  return Boolean(err) && (err.status === 401 || err.status === 403 || err.status === 404);
}

/**
 * Starts the realtime stream. Options:
 *   path        '/api/rooms/ABC123/events' (same origin, no query: see eventsPath())
 *   ticket      async () => {ticket, channel} (or '<ticket>' alone): a fresh single-use ticket
 *               and the channel it opens, asked for before every WebSocket/EventSource attempt;
 *               rejects with {status} errors (401/403/404 fatal, anything else retried with
 *               backoff)
 *   userId      the member's id, which the /events/{channel} path names
 *   token       the bearer token, sent only as an Authorization header by long-poll
 *   fetchState  async () => {room: {seq, ...}, ...}; rejects with {status} errors
 *   onState     (state) => void, called with each fetched state
 *   onEvent     (event) => void, called for each event in order
 *   onStatus    (status, transport) => void; status 'connecting'|'live'|'reconnecting'|'offline'
 *   onFatal     (err) => void, when the state or ticket fetch says 401/403/404; the stream is
 *               closed then
 *   transports  subset/order of TRANSPORTS
 *   env         {WebSocket, EventSource, fetch, setTimeout, clearTimeout, location, navigator, addEventListener}
 * Returns {close(), resync(), get transport(), get status()}.
 */
export function createEventStream(options) {
  const {
    path,
    ticket,
    userId,
    token,
    fetchState,
    onState = () => {},
    onEvent = () => {},
    onStatus = () => {},
    onFatal = () => {},
    transports = TRANSPORTS,
    env = globalThis,
  } = options;
  const setTimer = (fn, ms) => env.setTimeout(fn, ms);
  const clearTimer = (t) => env.clearTimeout(t);

  let closed = false;
  let gen = 0; /* Bumped whenever a transport is abandoned; stale callbacks compare it. */
  let idx = 0;
  let rounds = 0; /* Full passes over all transports without any opening. */
  let current = null;
  let opened = false;
  let status = null;
  let retryTimer = null;
  let refetchTimer = null;
  let settleTimer = null;
  let ticketTimer = null;
  let ticketFailures = 0; /* Ticket requests failed in a row (reset when a transport opens). */
  let silentTimer = null; /* Fires when a stream heard nothing for HEARTBEAT_MISSED periods. */
  let heartbeatMs = HEARTBEAT_DEFAULT_MS;

  let seq = null;
  let syncing = false;
  let inflight = null; /* The gen of the state fetch in flight, or null. */
  let buffer = [];
  let ahead = []; /* Events past a gap, held for REORDER_WAIT_MS (heartbeats as markers). */
  let aheadTimer = null;

  function setStatus(next) {
    if (next === status) return;
    status = next;
    try {
      onStatus(status, transports[idx]);
    } catch (err) {
      console.error(err);
    }
  }

  function deliver(event) {
    try {
      onEvent(event);
    } catch (err) {
      console.error('event handler failed', event && event.type, err);
    }
  }

  function fail(err) {
    if (closed) return;
    stop();
    try {
      onFatal(err);
    } catch (e) {
      console.error(e);
    }
  }

  function stop() {
    closed = true;
    gen += 1;
    if (current) current.close();
    current = null;
    clearTimer(retryTimer);
    clearTimer(refetchTimer);
    clearTimer(settleTimer);
    clearTimer(ticketTimer);
    clearTimer(silentTimer);
    dropAhead();
    if (env.removeEventListener) {
      env.removeEventListener('online', onOnline);
      env.removeEventListener('offline', onOffline);
    }
  }

  /* ---- resync ---- */

  function beginSync() {
    if (!syncing) {
      syncing = true;
      buffer = [];
    }
    /* What was held past a gap is applied after the state, like any buffered event. */
    buffer.push(...ahead.filter((e) => e.type !== 'heartbeat'));
    dropAhead();
    doFetch();
  }

  function dropAhead() {
    ahead = [];
    clearTimer(aheadTimer);
    aheadTimer = null;
  }

  /*
   * Holds an event that is past a gap; the gap gets REORDER_WAIT_MS to fill. Long-poll loses
   * the events published between two polls, so there a gap is a real loss: refetch at once.
   */
  function hold(event) {
    if (transports[idx] === 'poll') {
      beginSync();
      if (event.type !== 'heartbeat') buffer.push(event);
      return;
    }
    ahead.push(event);
    if (aheadTimer === null) {
      const g = gen;
      aheadTimer = setTimer(() => {
        aheadTimer = null;
        if (g === gen && !closed && ahead.length > 0) beginSync();
      }, REORDER_WAIT_MS);
    }
  }

  /* After seq moved on: takes the held events again, in order (advancing ones before the beacons
   * stamped with the same seq), through handle(), which holds what is still past a gap; forgets
   * the gap once nothing is left. */
  function releaseHeld() {
    if (ahead.length === 0) return;
    const advancing = (e) => !NON_ADVANCING.has(e.type) && e.type !== 'heartbeat';
    const held = ahead.sort((a, b) => a.seq - b.seq || advancing(b) - advancing(a));
    ahead = [];
    for (const event of held) {
      if (event.type !== 'heartbeat') handle(event);
      else if (event.seq > seq) ahead.push(event); /* a marker only: never delivered */
    }
    if (ahead.length === 0) dropAhead();
  }

  async function doFetch() {
    if (inflight === gen || closed) return;
    const g = gen;
    inflight = g;
    let state;
    try {
      state = await fetchState();
    } catch (err) {
      if (inflight === g) inflight = null;
      if (closed) return;
      if (isFatal(err)) {
        fail(err);
        return;
      }
      if (g === gen) {
        if (err && err.status === 0) setStatus('offline');
        refetchTimer = setTimer(() => {
          if (g === gen) doFetch();
        }, REFETCH_RETRY_MS);
      }
      return;
    }
    if (inflight === g) inflight = null;
    if (closed || g !== gen) return; /* The transport dropped meanwhile; the next open resyncs. */

    seq = state && state.room && typeof state.room.seq === 'number' ? state.room.seq : 0;
    try {
      onState(state);
    } catch (err) {
      console.error('state handler failed', err);
    }
    const pending = buffer.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    buffer = [];
    syncing = false;
    for (const event of pending) {
      if (syncing) buffer.push(event);
      else handle(event);
    }
    if (!syncing) setStatus('live');
  }

  function handle(event) {
    if (typeof event.seq !== 'number' || seq === null) {
      deliver(event);
      return;
    }
    if (NON_ADVANCING.has(event.type)) {
      if (event.seq > seq) {
        /* An advancing event before this one is missing, or still on its way. */
        hold(event);
      } else if (event.type === 'video.sync' && event.seq < seq) {
        /* A beacon older than our state; ignore it. */
      } else {
        deliver(event);
      }
      return;
    }
    if (event.seq <= seq) return; /* Already part of the state. */
    if (event.seq === seq + 1) {
      seq = event.seq;
      deliver(event);
      releaseHeld();
      return;
    }
    hold(event);
  }

  function onMessage(text) {
    let event;
    try {
      event = typeof text === 'string' ? JSON.parse(text) : text;
    } catch (err) {
      return;
    }
    if (!event || typeof event !== 'object' || typeof event.type !== 'string') return;
    if (event.type === 'heartbeat') {
      /* Not for the page: it only says the stream is alive, and where seq stands. */
      const every = event.data && event.data.every;
      if (typeof every === 'number' && every >= 500 && every <= 300000) heartbeatMs = every;
      if (!syncing && seq !== null && typeof event.seq === 'number' && event.seq > seq) hold(event);
      return;
    }
    if (syncing) buffer.push(event);
    else handle(event);
  }

  /* (Re)arms the silence watchdog of the stream of generation g (long-poll needs none: each
   * poll is a new subscription). */
  function armSilence(g) {
    clearTimer(silentTimer);
    if (transports[idx] === 'poll') return;
    silentTimer = setTimer(() => {
      if (g === gen && !closed && opened) dropped();
    }, heartbeatMs * HEARTBEAT_MISSED);
  }

  /* ---- transports ---- */

  /* The stream's URL for ticket t: the channel's own path when the ticket names one. */
  function withTicket(t) {
    const q = `ticket=${encodeURIComponent(typeof t === 'string' ? t : t.ticket)}`;
    if (typeof t === 'string' || typeof t.channel !== 'string' || !userId) {
      return `${path}${path.includes('?') ? '&' : '?'}${q}`;
    }
    return `${path}/${encodeURIComponent(t.channel)}?${q}&user=${encodeURIComponent(userId)}`;
  }

  function absoluteWsUrl(relative) {
    const loc = env.location || { protocol: 'http:', host: 'localhost' };
    return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${relative}`;
  }

  function startWs(cb, t) {
    const ws = new env.WebSocket(absoluteWsUrl(withTicket(t)));
    const timer = setTimer(() => cb.drop(), OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimer(timer);
      cb.open();
    };
    ws.onmessage = (m) => cb.message(m.data);
    ws.onerror = () => {};
    ws.onclose = () => {
      clearTimer(timer);
      cb.drop();
    };
    return {
      close() {
        clearTimer(timer);
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch (err) {
          /* Already closed. */
        }
      },
    };
  }

  function startSse(cb, t) {
    /* Always a new EventSource: a fresh one never sends Last-Event-ID (the server refuses it). */
    const es = new env.EventSource(withTicket(t));
    const timer = setTimer(() => cb.drop(), OPEN_TIMEOUT_MS);
    es.onopen = () => {
      clearTimer(timer);
      cb.open();
    };
    es.onmessage = (m) => cb.message(m.data);
    es.onerror = () => {
      /* EventSource would retry on its own; we want the resync protocol instead. */
      clearTimer(timer);
      es.close();
      cb.drop();
    };
    return {
      close() {
        clearTimer(timer);
        es.onopen = es.onmessage = es.onerror = null;
        es.close();
      },
    };
  }

  function startPoll(cb) {
    let stopped = false;
    let didOpen = false;
    let controller = null;
    const markOpen = () => {
      if (!didOpen && !stopped) {
        didOpen = true;
        cb.open();
      }
    };
    /* A long-poll request gives no "subscribed" signal; assume it after a moment. */
    const openTimer = setTimer(markOpen, POLL_OPEN_AFTER_MS);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    (async () => {
      let fastInARow = 0;
      while (!stopped) {
        const started = Date.now();
        controller = typeof AbortController === 'function' ? new AbortController() : null;
        let expired = false;
        /* Heartbeats end a healthy poll well before this; one that hears nothing for three
         * periods may sit on a subscription nchan orphaned: poll again. */
        const maxTimer = setTimer(() => {
          expired = true;
          if (controller) controller.abort();
        }, Math.min(POLL_MAX_MS, heartbeatMs * HEARTBEAT_MISSED));
        let res;
        try {
          /* no-store: never a conditional request (If-None-Match/If-Modified-Since are refused). */
          res = await env.fetch(path, {
            cache: 'no-store',
            headers: { ...headers },
            signal: controller ? controller.signal : undefined,
          });
        } catch (err) {
          clearTimer(maxTimer);
          if (stopped) return;
          if (expired) {
            /* Our own time limit: poll again, and look for what fell in between. */
            cb.settle();
            continue;
          }
          cb.drop();
          return;
        }
        let text = '';
        if (res.status === 200) {
          try {
            text = await res.text();
          } catch (err) {
            text = '';
          }
        }
        clearTimer(maxTimer);
        if (stopped) return;
        if (res.status === 200) {
          markOpen();
          if (text) cb.message(text);
          else if (expired) cb.settle();
        } else if (res.status === 304 || res.status === 408 || res.status === 204) {
          markOpen();
        } else {
          cb.drop();
          return;
        }
        /* Never spin: an endpoint that answers at once with nothing is not long-polling. */
        if (Date.now() - started < POLL_FAST_MS && !text) {
          fastInARow += 1;
          if (fastInARow >= 5) {
            cb.drop();
            return;
          }
          await new Promise((r) => setTimer(r, 1000));
        } else {
          fastInARow = 0;
        }
      }
    })();
    return {
      close() {
        stopped = true;
        clearTimer(openTimer);
        if (controller) controller.abort();
      },
    };
  }

  const STARTERS = { ws: startWs, sse: startSse, poll: startPoll };

  function available(name) {
    if (name === 'ws') return typeof env.WebSocket === 'function' && typeof ticket === 'function';
    if (name === 'sse') return typeof env.EventSource === 'function' && typeof ticket === 'function';
    if (name === 'poll') return typeof env.fetch === 'function';
    return false;
  }

  function connect() {
    if (closed) return;
    gen += 1;
    const g = gen;
    opened = false;
    let skipped = 0;
    while (!available(transports[idx]) && skipped < transports.length) {
      idx = (idx + 1) % transports.length;
      skipped += 1;
    }
    const cb = {
      open: () => {
        if (g !== gen || closed) return;
        opened = true;
        rounds = 0;
        ticketFailures = 0;
        armSilence(g);
        beginSync();
      },
      message: (text) => {
        if (g !== gen || closed) return;
        armSilence(g);
        onMessage(text);
        if (transports[idx] === 'poll') cb.settle();
      },
      /* Long-poll only: fetch the state once things are quiet (see POLL_SETTLE_MS). */
      settle: () => {
        if (g !== gen || closed) return;
        clearTimer(settleTimer);
        settleTimer = setTimer(() => {
          if (g === gen && !closed && opened) beginSync();
        }, POLL_SETTLE_MS);
      },
      drop: () => {
        if (g !== gen || closed) return;
        dropped();
      },
    };
    const name = transports[idx];
    const start = (t) => {
      try {
        current = STARTERS[name](cb, t);
      } catch (err) {
        current = null;
        /* A constructor that throws (blocked by policy, say) counts as a failed attempt. */
        setTimer(() => cb.drop(), 0);
      }
    };
    if (NEEDS_TICKET.has(name)) fetchTicket(g, start);
    else start();
  }

  /*
   * Asks for a fresh ticket, then calls start(ticket) if this attempt is still the current one.
   * A ticket that arrives too late is dropped unused: it is single-use and expires on its own.
   */
  async function fetchTicket(g, start) {
    let settled = false;
    clearTimer(ticketTimer);
    ticketTimer = setTimer(() => {
      if (settled || g !== gen || closed) return;
      settled = true;
      ticketFailed({ status: -1, code: 'ticket_timeout' });
    }, TICKET_TIMEOUT_MS);
    let t;
    let error = null;
    try {
      t = await ticket();
      const text = t && typeof t === 'object' ? t.ticket : t;
      if (typeof text !== 'string' || !text) error = { status: -1, code: 'no_ticket' };
    } catch (err) {
      error = err || { status: -1 };
    }
    if (settled || g !== gen || closed) return;
    settled = true;
    clearTimer(ticketTimer);
    if (error) ticketFailed(error);
    else start(t);
  }

  /* The ticket request failed: fatal for 401/403/404, else the same transport again after a backoff. */
  function ticketFailed(err) {
    if (closed) return;
    if (isFatal(err)) {
      fail(err);
      return;
    }
    gen += 1;
    current = null;
    opened = false;
    ticketFailures += 1;
    const offline = (env.navigator && env.navigator.onLine === false) || (err && err.status === 0);
    setStatus(offline ? 'offline' : 'reconnecting');
    clearTimer(retryTimer);
    retryTimer = setTimer(connect, BACKOFF_MS[Math.min(ticketFailures - 1, BACKOFF_MS.length - 1)]);
  }

  function dropped() {
    const wasOpen = opened;
    clearTimer(silentTimer);
    gen += 1;
    if (current) current.close();
    current = null;
    syncing = false;
    buffer = [];
    dropAhead();
    opened = false;
    let delay = RETRY_AFTER_DROP_MS;
    if (!wasOpen) {
      idx = (idx + 1) % transports.length;
      if (idx === 0) rounds += 1;
      delay = idx === 0 ? BACKOFF_MS[Math.min(rounds - 1, BACKOFF_MS.length - 1)] : RETRY_NEXT_TRANSPORT_MS;
    }
    const offline = (env.navigator && env.navigator.onLine === false) || rounds >= 2;
    setStatus(offline ? 'offline' : 'reconnecting');
    /* A transport cannot tell us why it failed (a WebSocket hides the HTTP status), so ask. */
    fetchState().then(
      () => {},
      (err) => {
        if (isFatal(err)) fail(err);
        else if (err && err.status === 0) setStatus('offline');
      },
    );
    clearTimer(retryTimer);
    retryTimer = setTimer(connect, delay);
  }

  function onOnline() {
    if (closed) return;
    /* Whatever survived the outage may be half dead: start a fresh connection now. */
    clearTimer(retryTimer);
    gen += 1;
    if (current) current.close();
    current = null;
    syncing = false;
    buffer = [];
    dropAhead();
    opened = false;
    rounds = 0;
    ticketFailures = 0;
    setStatus('reconnecting');
    connect();
  }

  function onOffline() {
    if (!closed) setStatus('offline');
  }

  if (env.addEventListener) {
    env.addEventListener('online', onOnline);
    env.addEventListener('offline', onOffline);
  }
  setStatus('connecting');
  connect();

  return {
    close: stop,
    /** Fetches the state again (for instance after the page was hidden for long). */
    resync() {
      if (!closed && opened) beginSync();
    },
    get transport() {
      return transports[idx];
    },
    get status() {
      return status;
    },
  };
}

/** The events path for a room, without credentials (the stream adds `?ticket=` itself). */
export function eventsPath(roomId) {
  return `/api/rooms/${encodeURIComponent(roomId)}/events`;
}
