/*
 * The room as data: a pure reducer over the state the server sends (the join
 * answer, every GET /api/rooms/{id}) and the realtime events of docs/api.md.
 * No DOM, no timers, no fetch: every function takes a state and returns a new
 * one, never changing its argument, so the page can compare old and new
 * fields by reference and render only what changed.
 *
 * Ordering by seq (duplicates, gaps, refetches) is events.js's job; what is
 * left for this module is what the page itself must tolerate: the same user
 * joining twice, someone unknown leaving, a chat message arriving both as the
 * POST answer and as an event, history out of id order, typing from ourselves.
 *
 * State:
 *   meId      this tab's user id
 *   users     [user] in the server's order (hosts first, then joinedAt); joiners are appended
 *   video     the authoritative video object, or null
 *   settings  the room's settings {locked, hasPassword, guestsCanControl, guestsCanChangeVideo,
 *             waitForAll} (all false until the server says otherwise)
 *   queue     [item] the videos to play next, in order (queue.updated replaces it)
 *   subtitles the current video's track {url, label, lang}, or null (a video.set drops it)
 *   waiting   [user id] the members the room is paused for (wait for everyone), or null;
 *             any video.* but pause and sync ends it
 *   messages  [message] unique by id, in id order, at most MAX_MESSAGES (the newest)
 *   typing    [{userId, name, expiresAt}] others typing, in the order they last started;
 *             expiresAt is on the caller's clock (the `now` given to applyEvent)
 *   removed   true once this user is no longer in the room; kicked says whether a host did it
 *   closed    true once the room closed (room.closed)
 *   leaving   true once this tab confirmed "Leave": its own departure is not news
 *   effects   what this one step asks of the page beyond rendering the state, in order:
 *               {type: 'toast', text}    an info toast
 *               {type: 'host', isHost}   this user's host role changed (tell the video area)
 *               {type: 'permissions'}    what this user may do changed (settings or role)
 *               {type: 'video'}          hand state.video to the video area (every video.*
 *                                        event, sync beacons included, and a changed refetch)
 *               {type: 'watch'}          queue, subtitles or waiting changed (tell the video
 *                                        area's watch-together parts)
 *               {type: 'reaction', userId, emoji}   someone reacted (not stored)
 * Once removed, closed or leaving, every further event and state is ignored.
 */

/* Messages kept in memory (and on screen); the oldest ids go first. */
export const MAX_MESSAGES = 500;
/* A remote "typing" we stopped hearing about disappears after this (the server's TTL is 5 s). */
export const TYPING_SHOW_MS = 6500;

const LEFT_TEXT = {
  left: (n) => `${n} left`,
  timeout: (n) => `${n} lost connection and left`,
  kicked: (n) => `${n} was removed`,
};

const HOST_TEXT_ME = 'You are now a host: you can pick the video and control playback';

/* A new room's settings, until the server says otherwise. */
export const DEFAULT_SETTINGS = Object.freeze({
  locked: false,
  hasPassword: false,
  guestsCanControl: false,
  guestsCanChangeVideo: false,
  waitForAll: false,
});

const VIDEO_EVENTS = new Set(['video.set', 'video.play', 'video.pause', 'video.seek', 'video.rate', 'video.sync']);

/**
 * A fresh state for user meId. joined, when given, is the join (or create) answer
 * {room: {users, video}, chat: [message]}: the room as this tab enters it. Entering
 * does not check that meId is among the users (the answer is the server's own word);
 * later states do.
 */
export function initialState(meId = null, joined = null) {
  const room = (joined && joined.room) || null;
  const state = {
    meId,
    users: (room && room.users) || [],
    video: (room && room.video) || null,
    settings: readSettings(room),
    queue: (room && Array.isArray(room.queue) && room.queue) || [],
    subtitles: (room && room.subtitles) || null,
    waiting: (room && room.waiting) || null,
    messages: [],
    typing: [],
    removed: false,
    kicked: false,
    closed: false,
    leaving: false,
    effects: [],
  };
  if (joined) state.messages = mergeMessages(state.messages, joined.chat).list;
  return state;
}

/** True when the page is done with the room (removed, closed, or leaving). */
export function isOver(state) {
  return state.removed || state.closed || state.leaving;
}

/** This user's entry in state.users, or null. */
export function me(state) {
  return state.users.find((u) => u.id === state.meId) || null;
}

/** True when this user is a host. */
export function amHost(state) {
  const u = me(state);
  return Boolean(u && u.isHost);
}

/** Whether this user may play, pause, seek and change the rate. */
export function canControl(state) {
  return amHost(state) || Boolean(state.settings.guestsCanControl);
}

/** Whether this user may set the video. */
export function canChangeVideo(state) {
  return amHost(state) || Boolean(state.settings.guestsCanChangeVideo);
}

/** Whether user (an entry of state.users) is muted at now (server ms): a timed mute ends by itself. */
export function isMuted(user, now) {
  return Boolean(user && user.muted) && (user.mutedUntil === null || user.mutedUntil === undefined || user.mutedUntil > now);
}

/** The names of the people typing, in order (for "X is typing" / "N people are typing"). */
export function typingNames(state) {
  return state.typing.map((t) => t.name);
}

/** Marks this tab as leaving: from now on events and states are ignored. */
export function markLeaving(state) {
  return { ...state, leaving: true, effects: [] };
}

/**
 * Applies a fetched state {room: {users, video, ...}, chat: [message]} (GET /api/rooms/{id}).
 * The users are replaced; when this user is not among them, the state says removed (not
 * kicked). The video is replaced (with a 'video' effect) only when it differs; history
 * messages are merged. Typing is left alone: it expires on its own.
 */
export function applyState(state, fetched) {
  const next = { ...state, effects: [] };
  if (isOver(state) || !fetched || !fetched.room) return next;
  const room = fetched.room;
  const wasHost = amHost(state);
  next.users = Array.isArray(room.users) ? room.users : [];
  if (!me(next)) {
    next.removed = true;
    next.kicked = false;
    return next;
  }
  const isHost = amHost(next);
  if (isHost !== wasHost) next.effects.push({ type: 'host', isHost });
  const settings = readSettings(room);
  if (JSON.stringify(settings) !== JSON.stringify(state.settings)) {
    next.settings = settings;
    next.effects.push({ type: 'permissions' });
  }
  if (JSON.stringify(room.video || null) !== JSON.stringify(state.video)) {
    next.video = room.video || null;
    next.effects.push({ type: 'video' });
  }
  const watch = {
    queue: Array.isArray(room.queue) ? room.queue : [],
    subtitles: room.subtitles || null,
    waiting: room.waiting || null,
  };
  if (JSON.stringify(watch) !== JSON.stringify({ queue: state.queue, subtitles: state.subtitles, waiting: state.waiting })) {
    Object.assign(next, watch);
    next.effects.push({ type: 'watch' });
  }
  const merged = mergeMessages(state.messages, fetched.chat);
  if (merged.added.length) next.messages = merged.list;
  return next;
}

/**
 * Applies one realtime event {type, seq, at, data}, already in order (events.js). now is the
 * caller's clock in ms, used only to date typing indicators. Unknown types change nothing.
 */
export function applyEvent(state, event, now = 0) {
  const next = { ...state, effects: [] };
  if (isOver(state) || !event) return next;
  const d = event.data || {};
  const handler = VIDEO_EVENTS.has(event.type) ? onVideo : HANDLERS[event.type];
  if (handler) handler(next, d, now, event.type);
  return next;
}

/** Drops the typing indicators that expired at or before now. */
export function expireTyping(state, now) {
  const typing = state.typing.filter((t) => t.expiresAt > now);
  if (typing.length === state.typing.length) return { ...state, effects: [] };
  return { ...state, typing, effects: [] };
}

/* ---- event handlers: each updates `next` (a fresh copy) in place ---- */

const HANDLERS = {
  'user.joined': onJoined,
  'user.left': onLeft,
  'user.presence': onPresence,
  'user.promoted': onPromoted,
  'user.demoted': onDemoted,
  'user.muted': onMuted,
  'user.renamed': onRenamed,
  'room.settings': onSettings,
  'chat.message': onMessage,
  'chat.deleted': onDeleted,
  typing: onTyping,
  'room.closed': onClosed,
  'queue.updated': onQueue,
  'video.subtitles': onSubtitles,
  'room.waiting': onWaiting,
  reaction: onReaction,
};

/* One newcomer ({user}), or several coalesced into one event ({users: [{user}...]}): one toast. */
function onJoined(next, d) {
  const names = [];
  for (const j of Array.isArray(d.users) ? d.users : [d]) {
    const user = j && j.user;
    if (!user || typeof user.id !== 'string') continue;
    const i = next.users.findIndex((u) => u.id === user.id);
    if (user.id !== next.meId && i < 0) names.push(user.name);
    next.users = i >= 0 ? replaceAt(next.users, i, { ...next.users[i], ...user }) : [...next.users, user];
  }
  if (names.length) next.effects.push({ type: 'toast', text: joinedText(names) });
}

function joinedText(names) {
  if (names.length === 1) return `${names[0]} joined`;
  if (names.length === 2) return `${names[0]} and ${names[1]} joined`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} more joined`;
}

function onLeft(next, d) {
  if (d.userId === next.meId) {
    next.removed = true;
    next.kicked = d.reason === 'kicked';
    return;
  }
  const gone = next.users.find((u) => u.id === d.userId);
  next.typing = withoutTyper(next.typing, d.userId);
  if (!gone) return;
  next.users = next.users.filter((u) => u.id !== d.userId);
  next.effects.push({ type: 'toast', text: (LEFT_TEXT[d.reason] || LEFT_TEXT.left)(gone.name) });
}

/* One member's change ({userId, online}), or several coalesced into one event ({users: [...]}). */
function onPresence(next, d) {
  for (const p of Array.isArray(d.users) ? d.users : [d]) {
    const i = p ? next.users.findIndex((u) => u.id === p.userId) : -1;
    if (i < 0) continue;
    const online = Boolean(p.online);
    if (next.users[i].online !== online) next.users = replaceAt(next.users, i, { ...next.users[i], online });
  }
}

function onPromoted(next, d) {
  const i = next.users.findIndex((u) => u.id === d.userId);
  if (i < 0 || next.users[i].isHost) return;
  /* Hosts are never muted: a promotion ends a mute. */
  const { muted, mutedUntil, ...rest } = next.users[i];
  const user = { ...rest, isHost: true };
  next.users = replaceAt(next.users, i, user);
  if (user.id === next.meId) {
    next.effects.push({ type: 'toast', text: HOST_TEXT_ME }, { type: 'host', isHost: true });
  } else {
    next.effects.push({ type: 'toast', text: `${user.name} is now a host` });
  }
}

function onDemoted(next, d) {
  const i = next.users.findIndex((u) => u.id === d.userId);
  if (i < 0 || !next.users[i].isHost) return;
  const user = { ...next.users[i], isHost: false };
  next.users = replaceAt(next.users, i, user);
  if (user.id === next.meId) {
    next.effects.push({ type: 'toast', text: 'You are no longer a host' }, { type: 'host', isHost: false });
  }
}

function onMuted(next, d) {
  const i = next.users.findIndex((u) => u.id === d.userId);
  if (i < 0) return;
  const user = { ...next.users[i] };
  if (d.muted) {
    user.muted = true;
    user.mutedUntil = typeof d.until === 'number' ? d.until : null;
  } else {
    delete user.muted;
    delete user.mutedUntil;
  }
  next.users = replaceAt(next.users, i, user);
  if (user.id === next.meId) next.effects.push({ type: 'toast', text: d.muted ? 'A host muted you' : 'You can chat again' });
}

function onRenamed(next, d) {
  const i = next.users.findIndex((u) => u.id === d.userId);
  if (i < 0 || typeof d.userName !== 'string') return;
  const old = next.users[i].name;
  next.users = replaceAt(next.users, i, { ...next.users[i], name: d.userName });
  if (d.userId !== next.meId && old !== d.userName) next.effects.push({ type: 'toast', text: `${old} is now ${d.userName}` });
}

function onSettings(next, d) {
  next.settings = readSettings(d);
  next.effects.push({ type: 'permissions' });
}

function onDeleted(next, d) {
  const i = next.messages.findIndex((m) => m.id === d.id);
  if (i < 0 || next.messages[i].deleted) return;
  next.messages = replaceAt(next.messages, i, { ...next.messages[i], text: '', deleted: true });
}

function onVideo(next, d, now, type) {
  next.video = d.video || null;
  next.effects.push({ type: 'video' });
  /* A new video has no track yet; any playback change but a pause ends a wait. */
  const dropTrack = type === 'video.set' && next.subtitles !== null;
  const endWait = type !== 'video.pause' && type !== 'video.sync' && next.waiting !== null;
  if (dropTrack) next.subtitles = null;
  if (endWait) next.waiting = null;
  if (dropTrack || endWait) next.effects.push({ type: 'watch' });
}

function onQueue(next, d) {
  if (!Array.isArray(d.queue)) return;
  next.queue = d.queue;
  next.effects.push({ type: 'watch' });
}

function onSubtitles(next, d) {
  next.subtitles = d.subtitles || null;
  next.effects.push({ type: 'watch' });
}

function onWaiting(next, d) {
  if (!Array.isArray(d.userIds)) return;
  next.waiting = d.userIds;
  next.effects.push({ type: 'watch' });
}

function onReaction(next, d) {
  if (typeof d.userId === 'string' && typeof d.emoji === 'string') {
    next.effects.push({ type: 'reaction', userId: d.userId, emoji: d.emoji });
  }
}

function onMessage(next, d) {
  const merged = mergeMessages(next.messages, [d.message]);
  if (!merged.added.length) return; /* A duplicate (or malformed) message changes nothing. */
  next.messages = merged.list;
  next.typing = withoutTyper(next.typing, d.message.userId);
}

function onTyping(next, d, now) {
  if (typeof d.userId !== 'string' || d.userId === next.meId) return;
  const rest = withoutTyper(next.typing, d.userId);
  if (d.typing) {
    next.typing = [...rest, { userId: d.userId, name: String(d.userName || 'Someone'), expiresAt: now + TYPING_SHOW_MS }];
  } else {
    next.typing = rest;
  }
}

function onClosed(next) {
  next.closed = true;
}

/* ---- helpers ---- */

/* The settings of a room object (or a room.settings event's data), defaults filled in. */
function readSettings(room) {
  const s = (room && room.settings) || {};
  const out = {};
  for (const key of Object.keys(DEFAULT_SETTINGS)) out[key] = Boolean(s[key]);
  return out;
}

function replaceAt(list, i, item) {
  const copy = list.slice();
  copy[i] = item;
  return copy;
}

/* The typing list without userId; the same array when userId was not in it. */
function withoutTyper(typing, userId) {
  return typing.some((t) => t.userId === userId) ? typing.filter((t) => t.userId !== userId) : typing;
}

function validMessage(m) {
  return Boolean(m) && typeof m.id === 'number' && typeof m.text === 'string' && typeof m.userName === 'string';
}

/**
 * Merges incoming messages (any order, duplicates and junk allowed) into list (unique, id
 * order). Returns {list, added}: the new list (the same array when nothing was added) and
 * the messages that are new and kept, in id order.
 */
export function mergeMessages(list, incoming) {
  if (!Array.isArray(incoming)) return { list, added: [] };
  const known = new Set(list.map((m) => m.id));
  const fresh = [];
  for (const m of incoming) {
    if (!validMessage(m) || known.has(m.id)) continue;
    known.add(m.id);
    fresh.push(m);
  }
  if (!fresh.length) return { list, added: [] };
  let merged = [...list, ...fresh].sort((a, b) => a.id - b.id);
  if (merged.length > MAX_MESSAGES) merged = merged.slice(merged.length - MAX_MESSAGES);
  const kept = new Set(merged.map((m) => m.id));
  const added = fresh.filter((m) => kept.has(m.id)).sort((a, b) => a.id - b.id);
  if (!added.length) return { list, added };
  return { list: merged, added };
}
