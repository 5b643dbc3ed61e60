/*
 * /room/{id}: the room page's controller. Decides who this tab is (saved
 * identity, or the name prompt), then runs the room: the state lives in
 * room-state.js; the join answer, every fetched state and every realtime
 * event go through its reducer (dispatch), and the page renders what changed
 * (participants, header, chat, typing) and carries out the step's effects
 * (toasts, video area). Also the screens, header actions, confirm dialog and
 * the end screens (no such room, removed). What this member may do (host
 * tools, guest permissions, being muted) is rendered by renderAccess, with the
 * panels of settings.js and the questions of moderation.js.
 */
import { ApiError, bindRequest, request, roomPath } from './api.js';
import { byId, h } from './dom.js';
import { clearIdentity, loadIdentity, saveIdentity } from './identity.js';
import { isRoomId } from './validate.js';
import { createIdentityForm, joinRoom } from './forms.js';
import { createEventStream, eventsPath, TRANSPORTS } from './events.js';
import {
  amHost,
  applyEvent,
  applyState,
  canChangeVideo,
  canControl,
  expireTyping,
  initialState,
  isMuted,
  markLeaving,
  me,
  typingNames,
} from './room-state.js';
import { createSettingsPanel } from './settings.js';
import { askNewName, chooseMuteMinutes } from './moderation.js';
import { createParticipants } from './participants.js';
import { createChat } from './chat.js';
import { toast } from './toast.js';
import { initThemeToggle } from './theme.js';
import { createPlaceholderArea } from './video-placeholder.js';
import { beep, initSoundToggle, soundEnabled } from './sound.js';
import { copyText } from './clipboard.js';
import { createQueuePanel } from './queue.js';
import { createReactions } from './reactions.js';

initThemeToggle();
initSoundToggle(byId('sound-toggle'));

const SMALL_SCREEN = window.matchMedia('(max-width: 859px)');
const STATUS_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
const TRANSPORT_NAME = { ws: 'WebSocket', sse: 'EventSource', poll: 'long-poll' };

const screens = {
  loading: byId('screen-loading'),
  join: byId('screen-join'),
  message: byId('screen-message'),
  room: byId('screen-room'),
};

/* ---- room id from the path ---- */

const match = /^\/room\/([A-Za-z0-9]+)\/?$/.exec(window.location.pathname);
const roomId = match ? match[1].toUpperCase() : '';
if (match && match[1] !== roomId) {
  window.history.replaceState(null, '', `/room/${roomId}${window.location.search}`);
}

/* A test/debug knob: ?transport=sse (or poll, ws) starts with that transport only. */
const forced = new URLSearchParams(window.location.search).get('transport');
const transports = TRANSPORTS.includes(forced) ? [forced] : TRANSPORTS;

/* ---- page state ---- */

/* The room as data (room-state.js); replaced, never changed, by dispatch(). */
let model = initialState();
/* The page is done: stream closed, video area gone, an end screen (or home) shown. */
let ended = false;
let token = null;
let api = null; /* request() with the token bound */
let stream = null;
let typingTimer = null;
let area = null;
let queuePanel = null;
/* YouTube titles the player told us (videoId -> title), for the Up next list. */
const youtubeTitles = new Map();
let reactions = null;
let chat = null;
let participants = null;
let settingsPanel = null;
let muteTimer = null;
let unread = 0;
let hiddenUnread = 0;
let panel = 'chat';
let hiddenSince = 0;

/* ---- screens ---- */

function showScreen(name) {
  for (const [key, el] of Object.entries(screens)) el.hidden = key !== name;
  document.body.dataset.screen = name;
}

/**
 * Shows a full-page message. kind: 'gone' | 'removed' | 'ended' | 'error'.
 * actions: [{text, href} | {text, onClick, primary}]
 */
function showMessage(kind, title, text, actions) {
  byId('message-icon').dataset.kind = kind;
  byId('message-title').textContent = title;
  byId('message-text').textContent = text;
  const box = byId('message-actions');
  box.replaceChildren(
    ...actions.map((a, i) => {
      const cls = `btn ${a.primary || (a.primary === undefined && i === 0) ? 'btn-primary' : 'btn-secondary'}`;
      if (a.href) return h('a', { class: cls, href: a.href }, a.text);
      return h('button', { type: 'button', class: cls, on: { click: a.onClick } }, a.text);
    }),
  );
  showScreen('message');
  byId('message-title').focus();
}

function closeStream() {
  if (stream) stream.close();
  stream = null;
}

function endRoom() {
  ended = true;
  closeStream();
  clearTimeout(typingTimer);
  clearTimeout(muteTimer);
  if (area) {
    try {
      area.destroy();
    } catch (err) {
      console.error(err);
    }
  }
  area = null;
  if (chat) chat.destroy();
  byId('room-meta').hidden = true;
  byId('room-settings').hidden = true;
  byId('leave-room').hidden = true;
  byId('conn-status').hidden = true;
  document.title = 'Watch N Chill';
}

function showGone(closedWhileInside = false) {
  endRoom();
  clearIdentity(roomId);
  showMessage(
    'gone',
    closedWhileInside ? 'This room has closed' : 'This room does not exist',
    closedWhileInside
      ? 'Everyone left or the room expired. You can start a new one any time.'
      : 'Check the code in your link. Rooms close when everyone has left.',
    [
      { text: 'Create a room', href: '/create' },
      { text: 'Join a room', href: '/join' },
    ],
  );
}

function showRemoved(kicked) {
  endRoom();
  clearIdentity(roomId);
  showMessage(
    'removed',
    kicked ? 'You were removed from this room' : 'You are no longer in this room',
    kicked
      ? 'A host removed you from the room.'
      : 'You were removed, or you were away for too long.',
    kicked
      ? [
          { text: 'Back to home', href: '/' },
          { text: 'Join a room', href: '/join' },
        ]
      : [
          { text: 'Join again', onClick: () => window.location.reload() },
          { text: 'Back to home', href: '/' },
        ],
  );
}

function showUnreachable(err) {
  showMessage('error', 'Cannot open the room', err.message || 'The server did not answer.', [
    { text: 'Try again', onClick: () => window.location.reload() },
    { text: 'Back to home', href: '/', primary: false },
  ]);
}

/* ---- entering ---- */

async function start() {
  if (!isRoomId(roomId)) {
    showGone();
    return;
  }
  document.title = `Room ${roomId} — Watch N Chill`;
  let note = null;
  const saved = loadIdentity(roomId);
  if (saved) {
    try {
      const res = await request('POST', roomPath(roomId, '/join'), { userName: saved.name || 'Guest' }, saved.token);
      enterRoom({ userId: res.userId || saved.userId, token: res.token || saved.token, name: saved.name }, res);
      return;
    } catch (err) {
      if (err.status === 404) {
        showGone();
        return;
      }
      if (err.status === 401 || err.status === 403) {
        clearIdentity(roomId);
        note = 'Your earlier visit to this room has ended. Pick a name to join again.';
      } else {
        showUnreachable(err);
        return;
      }
    }
  }
  let summary;
  try {
    summary = await request('GET', roomPath(roomId));
  } catch (err) {
    if (err.status === 404 || err.status === 400) showGone();
    else showUnreachable(err);
    return;
  }
  showJoinPrompt(summary, note);
}

function showJoinPrompt(summary, note) {
  byId('join-room-code').textContent = roomId;
  const n = summary && typeof summary.userCount === 'number' ? summary.userCount : null;
  const parts = [];
  if (n !== null) parts.push(n === 1 ? '1 person is here' : `${n} people are here`);
  if (summary && summary.hasVideo) parts.push('a video is playing');
  byId('join-summary').textContent = parts.length ? `${parts.join(', ')}. Pick a name to join.` : 'Pick a name to join.';
  if (summary && summary.locked) note = 'This room is locked';
  const noteEl = byId('join-note');
  noteEl.hidden = !note;
  noteEl.textContent = note || '';
  byId('password-field').hidden = !(summary && summary.hasPassword);
  showScreen('join');

  const name = byId('name');
  createIdentityForm(
    {
      form: byId('join-form'),
      submit: byId('join-submit'),
      formError: byId('form-error'),
      fields: [
        { kind: 'name', input: name, error: byId('name-error') },
        { kind: 'password', input: byId('password'), error: byId('password-error'), wrap: byId('password-field') },
      ],
    },
    {
      send: (v) => joinRoom(roomId, v.name, v.password),
      done: (res, v) => enterRoom({ userId: res.userId, token: res.token, name: v.name }, res),
      claim: (err) => {
        if (err.code !== 'room_not_found') return false;
        showGone();
        return true;
      },
    },
  );
  name.focus();
}

async function enterRoom(identity, res) {
  saveIdentity(roomId, identity);
  token = identity.token;
  api = bindRequest(identity.token);
  model = initialState(identity.userId, res);

  setupHeader();
  setupParticipants();
  setupChat();
  chat.render(model.messages);
  setupSidePanels();
  renderUsers();
  renderAccess();
  showScreen('room');
  requestAnimationFrame(() => chat.scrollToBottom());

  await mountVideoArea();
  if (ended) return;
  setupWatch();
  startEvents();
}

/* ---- header ---- */

function setupHeader() {
  byId('room-code').textContent = roomId;
  byId('room-meta').hidden = false;
  settingsPanel = createSettingsPanel({
    button: byId('room-settings'),
    api,
    roomId,
    onSettings: (settings) => dispatch(applyEvent(model, { type: 'room.settings', data: { settings } }), false),
  });
  byId('leave-room').hidden = false;
  byId('conn-status').hidden = false;
  const link = `${window.location.origin}/room/${roomId}`;

  byId('copy-code').addEventListener('click', async () => {
    if (await copyText(roomId)) toast('info', `Room code ${roomId} copied`);
    else toast('error', `Could not copy. The code is ${roomId}`);
  });
  byId('copy-link').addEventListener('click', async () => {
    if (await copyText(link)) toast('info', 'Invite link copied');
    else toast('error', `Could not copy. The link is ${link}`);
  });
  const share = byId('share-link');
  if (typeof navigator.share === 'function') {
    share.hidden = false;
    share.addEventListener('click', () => {
      navigator.share({ title: 'Watch N Chill', text: `Watch with me in room ${roomId}`, url: link }).catch(() => {});
    });
  }
  byId('leave-room').addEventListener('click', async () => {
    const ok = await confirmDialog('Leave the room?', 'You can join again with the room code.', 'Leave');
    if (!ok) return;
    dispatch(markLeaving(model), false);
    try {
      await api('POST', roomPath(roomId, '/leave'));
    } catch (err) {
      /* Leaving anyway: the server will time us out. */
    }
    /* endRoom() closes our stream: the server no longer closes streams on a leave. */
    endRoom();
    clearIdentity(roomId);
    window.location.assign('/');
  });
}

function renderHeaderHosts() {
  const hosts = model.users.filter((u) => u.isHost).map((u) => (u.id === model.meId ? `${u.name} (you)` : u.name));
  byId('host-label').textContent = hosts.length > 1 ? 'Hosts:' : 'Host:';
  byId('host-names').textContent = hosts.length ? hosts.join(', ') : 'nobody yet';
}

function setConnStatus(status, transport) {
  console.debug('[wnc] status', status, transport);
  const el = byId('conn-status');
  el.dataset.state = status;
  el.querySelector('.conn-text').textContent = STATUS_TEXT[status] || status;
  el.title = status === 'live' ? `Live updates via ${TRANSPORT_NAME[transport] || transport}` : STATUS_TEXT[status];
  el.dataset.transport = transport || '';
}

/* ---- participants ---- */

function setupParticipants() {
  /* A member action: one request about user; a failure is told, never thrown. */
  const act = (action, body) => async (user) => {
    try {
      await api('POST', roomPath(roomId, `/users/${encodeURIComponent(user.id)}/${action}`), body);
    } catch (err) {
      actionFailed(err);
    }
  };
  participants = createParticipants(byId('participants'), {
    onPromote: act('promote'),
    onDemote: act('demote'),
    onUnmute: act('mute', { muted: false }),
    onMute: async (user) => {
      const minutes = await chooseMuteMinutes(user.name);
      if (minutes === undefined) return;
      await act('mute', minutes === null ? { muted: true } : { muted: true, minutes })(user);
    },
    onKick: async (user) => {
      const ok = await confirmDialog(`Remove ${user.name}?`, 'They will be taken out of the room right away.', 'Remove');
      if (ok) await act('kick')(user);
    },
    onBan: async (user) => {
      const ok = await confirmDialog(`Ban ${user.name}?`, 'They will be removed and cannot join this room again from the same address.', 'Ban');
      if (ok) await act('kick', { ban: true })(user);
    },
    onRename: (user) => askNewName(user.name, async (userName) => {
      const res = await api('PATCH', roomPath(roomId, '/users/me'), { userName });
      if (res && res.user) dispatch(applyEvent(model, { type: 'user.renamed', data: { userId: res.user.id, userName: res.user.name } }), false);
    }),
  });
}

function renderUsers() {
  participants.render(model.users, model.meId, Date.now());
  const n = String(model.users.length);
  byId('people-count').textContent = n;
  byId('people-count-mobile').textContent = n;
  renderHeaderHosts();
}

/*
 * What this member may do, shown everywhere it matters: the settings button and the header's
 * lock, the chat (muted; Delete on every message for hosts), the video area (guests a host
 * allowed). A timed mute ends by itself: a timer renders again when the first one runs out.
 */
function renderAccess() {
  const host = amHost(model);
  const now = Date.now();
  settingsPanel.render(model.settings, host);
  byId('room-locked').hidden = !model.settings.locked;
  chat.setMuted(isMuted(me(model), now));
  chat.setCanDeleteAll(host);
  if (area) area.setPermissions({ control: canControl(model), video: canChangeVideo(model) });
  clearTimeout(muteTimer);
  const ends = model.users.filter((u) => isMuted(u, now) && typeof u.mutedUntil === 'number').map((u) => u.mutedUntil);
  if (ends.length) {
    muteTimer = setTimeout(() => {
      renderUsers();
      renderAccess();
    }, Math.min(Math.min(...ends) - now + 50, 2 ** 31 - 1));
  }
}

function actionFailed(err) {
  if (err.status === 401) showRemoved(false);
  else if (err.code === 'room_not_found') showGone(true);
  else toast('error', err.message || 'That did not work.');
}

/* ---- chat & side panels ---- */

function setupChat() {
  chat = createChat(
    {
      list: byId('messages'),
      empty: byId('chat-empty'),
      jump: byId('jump-new'),
      typing: byId('typing'),
      form: byId('chat-form'),
      input: byId('chat-input'),
      send: byId('chat-send'),
      counter: byId('chat-counter'),
      error: byId('chat-error'),
      muted: byId('chat-muted'),
    },
    {
      meId: model.meId,
      /* The answer goes into the state like the event that will follow it (same id). */
      sendMessage: async (text) => {
        const res = await api('POST', roomPath(roomId, '/chat'), { text });
        if (res && res.message) dispatch(applyEvent(model, { type: 'chat.message', data: { message: res.message } }, Date.now()), true);
      },
      sendTyping: (typing) => api('POST', roomPath(roomId, '/typing'), { typing }),
      onDelete: async (message) => {
        try {
          await api('DELETE', roomPath(roomId, `/chat/${message.id}`));
          dispatch(applyEvent(model, { type: 'chat.deleted', data: { id: message.id } }), false);
        } catch (err) {
          actionFailed(err);
        }
      },
      onIncoming,
    },
  );
}

function chatVisible() {
  return !SMALL_SCREEN.matches || panel === 'chat';
}

function onIncoming() {
  if (!chatVisible()) {
    unread += 1;
    renderUnread();
  }
  if (document.hidden) {
    hiddenUnread += 1;
    document.title = `(${hiddenUnread}) Room ${roomId} — Watch N Chill`;
  }
  if (soundEnabled() && (document.hidden || !chatVisible() || !document.hasFocus())) beep();
}

function renderUnread() {
  const badge = byId('unread-badge');
  badge.hidden = unread === 0;
  badge.replaceChildren(unread > 99 ? '99+' : String(unread), h('span', { class: 'visually-hidden' }, ' unread'));
}

function setPanel(next) {
  panel = next;
  const side = document.querySelector('.side');
  side.dataset.panel = next;
  byId('show-chat').setAttribute('aria-expanded', String(next === 'chat'));
  byId('show-people').setAttribute('aria-expanded', String(next === 'people'));
  if (chatVisible()) {
    unread = 0;
    renderUnread();
    if (next === 'chat') requestAnimationFrame(() => chat.scrollToBottom());
  }
}

function setupSidePanels() {
  const side = document.querySelector('.side');
  const choose = (next) => {
    setPanel(next);
    /* On a phone, bring the chosen panel fully into view. */
    if (SMALL_SCREEN.matches) side.scrollIntoView({ block: 'start', behavior: 'smooth' });
  };
  byId('show-chat').addEventListener('click', () => choose('chat'));
  byId('show-people').addEventListener('click', () => choose('people'));
  SMALL_SCREEN.addEventListener('change', () => setPanel(panel));
  setPanel('chat');
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      hiddenSince = Date.now();
    } else {
      hiddenUnread = 0;
      if (!ended) document.title = `Room ${roomId} — Watch N Chill`;
      if (stream && Date.now() - hiddenSince > 60000) stream.resync();
    }
  });
}

/* ---- confirm dialog ---- */

function confirmDialog(title, text, okLabel) {
  const dialog = byId('confirm-dialog');
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  byId('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    byId('confirm-cancel').focus();
  });
}

/* ---- video area ---- */

async function mountVideoArea() {
  const container = byId('video-area');
  const options = {
    roomId,
    request: api,
    isHost: amHost(model),
    notify: (kind, text) => toast(kind === 'error' ? 'error' : 'info', text),
    onTitle: (videoId, title) => {
      if (youtubeTitles.get(videoId) === title) return;
      youtubeTitles.set(videoId, title);
      renderWatch();
    },
  };
  try {
    const mod = await import('./video-area.js');
    area = mod.createVideoArea(container, options);
  } catch (err) {
    console.warn('video area unavailable, using the placeholder', err);
    container.replaceChildren();
    area = createPlaceholderArea(container, options);
  }
  if (ended) {
    area.destroy();
    area = null;
    return;
  }
  area.setVideo(model.video);
  area.setPermissions({ control: canControl(model), video: canChangeVideo(model) });
}

/* ---- watching together: Up next, reactions, subtitles and waiting in the video area ---- */

function nameOf(userId) {
  const u = model.users.find((x) => x.id === userId);
  return u ? u.name : 'someone';
}

function setupWatch() {
  const notify = (kind, text) => toast(kind === 'error' ? 'error' : 'info', text);
  const byPath = (method, rest, body) => api(method, roomPath(roomId, rest), body);
  queuePanel = createQueuePanel(byId('queue-panel'), { api: byPath, notify });
  if (area && area.stage) {
    reactions = createReactions(area.stage, area.controls, { send: (emoji) => byPath('POST', '/reactions', { emoji }), notify });
  }
  renderWatch();
}

function renderWatch() {
  if (queuePanel) queuePanel.render({ queue: model.queue, users: model.users, meId: model.meId, isHost: amHost(model), titles: youtubeTitles });
  if (area && area.setWatch) area.setWatch({ subtitles: model.subtitles, waitingNames: (model.waiting || []).map(nameOf) });
}

/* ---- realtime ---- */

/* A fresh single-use ticket for one WebSocket/EventSource attempt (the token stays in headers),
 * with the channel it opens (the stream subscribes at /events/{channel}). */
async function eventsTicket() {
  const res = await api('POST', roomPath(roomId, '/events/ticket'));
  if (!res || typeof res.ticket !== 'string') return '';
  return typeof res.channel === 'string' ? { ticket: res.ticket, channel: res.channel } : res.ticket;
}

function startEvents() {
  stream = createEventStream({
    path: eventsPath(roomId),
    ticket: eventsTicket,
    userId: model.meId,
    token,
    transports,
    fetchState: () => api('GET', roomPath(roomId)),
    onState: (res) => {
      if (ended) return;
      console.debug('[wnc] state', res && res.room && res.room.seq);
      dispatch(applyState(model, res), false);
    },
    onEvent: (event) => {
      if (ended) return;
      console.debug('[wnc] event', event.type, event.seq, event.type.startsWith('user.') ? JSON.stringify(event.data) : '');
      dispatch(applyEvent(model, event, Date.now()), true);
    },
    onStatus: setConnStatus,
    onFatal: (err) => {
      if (model.leaving) endRoom();
      else if (err.status === 404) showGone(true);
      else showRemoved(false);
    },
  });
}

/* A tab that goes away in the middle of leaving must not leave its stream behind. */
window.addEventListener('pagehide', () => {
  if (model.leaving) closeStream();
});

/* ---- events -> reducer -> render ---- */

/*
 * Makes next the page's state and shows it: an end screen when this user was removed or
 * the room closed; otherwise re-renders the parts whose data changed (by reference) and
 * carries out the step's effects. live: the step came from one event (or our own send)
 * rather than a fetched state, which decides how the chat scrolls.
 */
function dispatch(next, live) {
  if (ended) return;
  const prev = model;
  model = next;
  if (next.removed && !prev.removed) {
    showRemoved(next.kicked);
    return;
  }
  if (next.closed && !prev.closed) {
    showGone(true);
    return;
  }
  if (next.users !== prev.users) {
    renderUsers();
    renderWatch();
  }
  if (next.users !== prev.users || next.settings !== prev.settings) renderAccess();
  if (next.messages !== prev.messages) chat.render(next.messages, { live });
  if (next.typing !== prev.typing) renderTyping();
  for (const effect of next.effects) {
    if (effect.type === 'toast') toast('info', effect.text);
    /* 'host' and 'permissions': renderAccess above has told the video area. */
    else if (effect.type === 'video' && area) area.setVideo(model.video);
    if (effect.type === 'host' || effect.type === 'watch') renderWatch();
    else if (effect.type === 'reaction' && reactions) reactions.show(effect.emoji, nameOf(effect.userId));
  }
}

/* Shows who is typing, and wakes up when the first indicator runs out. */
function renderTyping() {
  chat.showTyping(typingNames(model));
  scheduleTypingExpiry();
}

function scheduleTypingExpiry() {
  clearTimeout(typingTimer);
  if (!model.typing.length) return;
  const first = Math.min(...model.typing.map((t) => t.expiresAt));
  typingTimer = setTimeout(() => {
    const next = expireTyping(model, Date.now());
    /* A timer may fire a hair early; then nothing expired yet and we wait again. */
    if (next.typing === model.typing) scheduleTypingExpiry();
    else dispatch(next, false);
  }, Math.max(0, first - Date.now()));
}

start().catch((err) => {
  console.error(err);
  showUnreachable(err instanceof ApiError ? err : new Error('Something went wrong while opening the room.'));
});
