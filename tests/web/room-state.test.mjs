/*
 * web/js/room-state.js, the room page's reducer, in Node: a table of events
 * in -> state out for every event type of docs/api.md, fetched states, typing
 * expiry as data, the duplicates and disorder the page must tolerate, and the
 * end flags. Every input state is deep-frozen, so a reducer that changed its
 * argument instead of returning a new state throws here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SETTINGS,
  MAX_MESSAGES,
  TYPING_SHOW_MS,
  amHost,
  applyEvent,
  applyState,
  canChangeVideo,
  canControl,
  isMuted,
  expireTyping,
  initialState,
  isOver,
  markLeaving,
  me,
  mergeMessages,
  typingNames,
} from '../../web/js/room-state.js';

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const ALICE = { id: 'a', name: 'Alice', isHost: true, joinedAt: 1, online: true };
const MEG = { id: 'me', name: 'Meg', isHost: false, joinedAt: 2, online: true };
const BOB = { id: 'b', name: 'Bob', isHost: false, joinedAt: 3, online: false };
const VIDEO = { url: 'https://example.test/a.mp4', kind: 'file', videoId: null, playing: false, position: 0, rate: 1, updatedAt: 1000 };

const msg = (id, userId = 'a', text = `m${id}`) => ({ id, userId, userName: userId === 'me' ? 'Meg' : 'Alice', text, ts: 1000 + id });
const ev = (type, data, seq = 5) => ({ type, seq, at: 1, data });

/** Meg in Alice's room (Bob too), with a little history; frozen. */
function room({ users = [ALICE, MEG, BOB], video = null, chat = [msg(1), msg(2)], typing = [] } = {}) {
  const s = initialState('me', { room: { users, video }, chat });
  return deepFreeze({ ...s, typing });
}

const names = (s) => s.users.map((u) => u.name);
const toasts = (s) => s.effects.filter((e) => e.type === 'toast').map((e) => e.text);

describe('initialState', () => {
  test('empty without a join answer', () => {
    const s = initialState();
    assert.deepEqual(s, {
      meId: null, users: [], video: null, queue: [], subtitles: null, waiting: null, messages: [], typing: [], settings: DEFAULT_SETTINGS,
      removed: false, kicked: false, closed: false, leaving: false, effects: [],
    });
    assert.equal(isOver(s), false);
  });

  test('from the join answer: users as sent, video, history unique and in id order', () => {
    const s = initialState('me', {
      room: { users: [ALICE, MEG], video: VIDEO },
      chat: [msg(3), msg(1), msg(3), { id: 'x', text: 'bad' }, msg(2)],
    });
    assert.deepEqual(names(s), ['Alice', 'Meg']);
    assert.equal(s.video, VIDEO);
    assert.deepEqual(s.messages.map((m) => m.id), [1, 2, 3]);
    assert.deepEqual(s.effects, []);
    assert.equal(me(s).name, 'Meg');
    assert.equal(amHost(s), false);
  });

  test('a join answer without room or chat gives an empty room (never "removed")', () => {
    const s = initialState('me', {});
    assert.deepEqual(s.users, []);
    assert.equal(s.video, null);
    assert.deepEqual(s.messages, []);
    assert.equal(s.removed, false);
  });
});

/*
 * The table: [name, state before, event, expectations]. expect is a function of the state
 * after (and before) that throws when something is off.
 */
const NOW = 50_000;
const EVENT_ROWS = [
  /* ---- user.joined ---- */
  ['user.joined: a newcomer is appended and announced', room({ users: [ALICE, MEG] }), ev('user.joined', { user: BOB }), (s) => {
    assert.deepEqual(names(s), ['Alice', 'Meg', 'Bob']);
    assert.deepEqual(toasts(s), ['Bob joined']);
  }],
  ['user.joined twice: updated in place, not announced again', room(), ev('user.joined', { user: { ...BOB, online: true, name: 'Bobby' } }), (s) => {
    assert.deepEqual(names(s), ['Alice', 'Meg', 'Bobby']);
    assert.equal(s.users[2].online, true);
    assert.equal(s.users[2].joinedAt, 3);
    assert.deepEqual(s.effects, []);
  }],
  ['user.joined for ourselves: merged, never announced', room({ users: [ALICE] }), ev('user.joined', { user: MEG }), (s) => {
    assert.deepEqual(names(s), ['Alice', 'Meg']);
    assert.deepEqual(s.effects, []);
  }],
  ['user.joined, several coalesced: appended in order, one toast, the known one merged', room({ users: [ALICE, MEG] }),
    ev('user.joined', { users: [{ user: BOB }, { user: { ...MEG, online: true } }, { user: { ...BOB, id: 'c', name: 'Carol' } }, { user: { ...BOB, id: 'd', name: 'Dave' } }] }), (s) => {
      assert.deepEqual(names(s), ['Alice', 'Meg', 'Bob', 'Carol', 'Dave']);
      assert.equal(s.users[1].online, true);
      assert.deepEqual(toasts(s), ['Bob, Carol and 1 more joined']);
    }],
  ['user.joined, two coalesced, one malformed: the good ones only', room({ users: [ALICE, MEG] }),
    ev('user.joined', { users: [{ user: BOB }, null, { user: { name: 'no id' } }, { user: { ...BOB, id: 'c', name: 'Carol' } }] }), (s) => {
      assert.deepEqual(names(s), ['Alice', 'Meg', 'Bob', 'Carol']);
      assert.deepEqual(toasts(s), ['Bob and Carol joined']);
    }],
  ['user.joined without a user: nothing', room(), ev('user.joined', {}), (s, before) => {
    assert.equal(s.users, before.users);
    assert.deepEqual(s.effects, []);
  }],

  /* ---- user.left ---- */
  ['user.left (left): removed and announced', room(), ev('user.left', { userId: 'b', reason: 'left' }), (s) => {
    assert.deepEqual(names(s), ['Alice', 'Meg']);
    assert.deepEqual(toasts(s), ['Bob left']);
    assert.equal(s.removed, false);
  }],
  ['user.left (timeout)', room(), ev('user.left', { userId: 'b', reason: 'timeout' }), (s) => {
    assert.deepEqual(toasts(s), ['Bob lost connection and left']);
  }],
  ['user.left (kicked)', room(), ev('user.left', { userId: 'b', reason: 'kicked' }), (s) => {
    assert.deepEqual(toasts(s), ['Bob was removed']);
  }],
  ['user.left with an unknown reason reads as "left"', room(), ev('user.left', { userId: 'a', reason: 'mystery' }), (s) => {
    assert.deepEqual(names(s), ['Meg', 'Bob']);
    assert.deepEqual(toasts(s), ['Alice left']);
  }],
  ['user.left of someone unknown (or a duplicate): nothing shown', room(), ev('user.left', { userId: 'zz', reason: 'left' }), (s, before) => {
    assert.equal(s.users, before.users);
    assert.deepEqual(s.effects, []);
  }],
  ['user.left ends that user\'s typing', room({ typing: [{ userId: 'b', name: 'Bob', expiresAt: NOW + 1 }, { userId: 'a', name: 'Alice', expiresAt: NOW + 1 }] }),
    ev('user.left', { userId: 'b', reason: 'left' }), (s) => {
      assert.deepEqual(typingNames(s), ['Alice']);
    }],
  ['user.left of an unknown typer still ends the typing', room({ users: [ALICE, MEG], typing: [{ userId: 'b', name: 'Bob', expiresAt: NOW + 1 }] }),
    ev('user.left', { userId: 'b', reason: 'left' }), (s) => {
      assert.deepEqual(s.typing, []);
      assert.deepEqual(s.effects, []);
    }],
  ['user.left of ourselves, kicked: removed + kicked', room(), ev('user.left', { userId: 'me', reason: 'kicked' }), (s, before) => {
    assert.equal(s.removed, true);
    assert.equal(s.kicked, true);
    assert.equal(s.users, before.users);
    assert.deepEqual(s.effects, []);
    assert.equal(isOver(s), true);
  }],
  ['user.left of ourselves, timed out: removed, not kicked', room(), ev('user.left', { userId: 'me', reason: 'timeout' }), (s) => {
    assert.equal(s.removed, true);
    assert.equal(s.kicked, false);
  }],

  /* ---- user.presence ---- */
  ['user.presence: online', room(), ev('user.presence', { userId: 'b', online: true }, 6), (s) => {
    assert.equal(s.users[2].online, true);
    assert.deepEqual(s.effects, []);
  }],
  ['user.presence: offline', room(), ev('user.presence', { userId: 'a', online: false }), (s) => {
    assert.equal(s.users[0].online, false);
    assert.equal(s.users[0].isHost, true);
  }],
  ['user.presence coerces to a boolean', room(), ev('user.presence', { userId: 'b', online: 1 }), (s) => {
    assert.equal(s.users[2].online, true);
  }],
  ['user.presence that changes nothing keeps the users', room(), ev('user.presence', { userId: 'a', online: true }), (s, before) => {
    assert.equal(s.users, before.users);
  }],
  ['user.presence batch: every member listed, unknown ones and junk skipped', room(), ev('user.presence', {
    users: [{ userId: 'b', online: true }, { userId: 'zz', online: true }, null, { userId: 'a', online: false }],
  }), (s) => {
    assert.equal(s.users[2].online, true);
    assert.equal(s.users[0].online, false);
    assert.equal(s.users[0].isHost, true);
    assert.deepEqual(names(s), ['Alice', 'Meg', 'Bob']);
  }],
  ['user.presence batch that changes nothing keeps the users', room(), ev('user.presence', { users: [{ userId: 'a', online: true }] }), (s, before) => {
    assert.equal(s.users, before.users);
  }],
  ['user.presence of someone unknown: nothing', room(), ev('user.presence', { userId: 'zz', online: true }), (s, before) => {
    assert.equal(s.users, before.users);
  }],

  /* ---- user.promoted ---- */
  ['user.promoted: another member', room(), ev('user.promoted', { userId: 'b' }), (s) => {
    assert.equal(s.users[2].isHost, true);
    assert.deepEqual(s.effects, [{ type: 'toast', text: 'Bob is now a host' }]);
    assert.equal(amHost(s), false);
  }],
  ['user.promoted: ourselves (toast, then the video area learns)', room(), ev('user.promoted', { userId: 'me' }), (s) => {
    assert.equal(amHost(s), true);
    assert.deepEqual(s.effects, [
      { type: 'toast', text: 'You are now a host: you can pick the video and control playback' },
      { type: 'host', isHost: true },
    ]);
  }],
  ['user.promoted of a host (duplicate): nothing', room(), ev('user.promoted', { userId: 'a' }), (s, before) => {
    assert.equal(s.users, before.users);
    assert.deepEqual(s.effects, []);
  }],
  ['user.promoted of someone unknown: nothing', room(), ev('user.promoted', { userId: 'zz' }), (s, before) => {
    assert.equal(s.users, before.users);
    assert.deepEqual(s.effects, []);
  }],

  /* ---- video.* ---- */
  ...['video.set', 'video.play', 'video.pause', 'video.seek', 'video.rate', 'video.sync'].map((type) => [
    `${type}: the video is replaced and handed on`, room(), ev(type, { video: { ...VIDEO, position: 7 } }), (s) => {
      assert.deepEqual(s.video, { ...VIDEO, position: 7 });
      assert.deepEqual(s.effects, [{ type: 'video' }]);
    }]),
  ['video.sync identical to the state is still handed on (the player needs every beacon)', room({ video: VIDEO }), ev('video.sync', { video: { ...VIDEO } }), (s) => {
    assert.deepEqual(s.effects, [{ type: 'video' }]);
  }],
  ['video.set without a video: null, handed on', room({ video: VIDEO }), ev('video.set', {}), (s) => {
    assert.equal(s.video, null);
    assert.deepEqual(s.effects, [{ type: 'video' }]);
  }],

  /* ---- chat.message ---- */
  ['chat.message: appended in id order', room(), ev('chat.message', { message: msg(3, 'b') }), (s) => {
    assert.deepEqual(s.messages.map((m) => m.id), [1, 2, 3]);
    assert.deepEqual(s.effects, []);
  }],
  ['chat.message already known (POST answer, then the event): nothing', room(), ev('chat.message', { message: msg(2) }), (s, before) => {
    assert.equal(s.messages, before.messages);
  }],
  ['chat.message older than the newest: slotted in by id', room({ chat: [msg(1), msg(5)] }), ev('chat.message', { message: msg(3) }), (s) => {
    assert.deepEqual(s.messages.map((m) => m.id), [1, 3, 5]);
  }],
  ['chat.message malformed: ignored', room(), ev('chat.message', { message: { id: '9', text: 'x', userName: 'A' } }), (s, before) => {
    assert.equal(s.messages, before.messages);
  }],
  ['chat.message without a message: ignored', room(), ev('chat.message', {}), (s, before) => {
    assert.equal(s.messages, before.messages);
  }],
  ['chat.message ends its author\'s typing', room({ typing: [{ userId: 'a', name: 'Alice', expiresAt: NOW + 1 }, { userId: 'b', name: 'Bob', expiresAt: NOW + 1 }] }),
    ev('chat.message', { message: msg(3, 'a') }), (s) => {
      assert.deepEqual(typingNames(s), ['Bob']);
    }],
  ['a duplicate chat.message does not end the typing', room({ typing: [{ userId: 'a', name: 'Alice', expiresAt: NOW + 1 }] }),
    ev('chat.message', { message: msg(2, 'a') }), (s, before) => {
      assert.equal(s.typing, before.typing);
    }],

  /* ---- typing ---- */
  ['typing on: shown until now + TYPING_SHOW_MS', room(), ev('typing', { userId: 'b', userName: 'Bob', typing: true }), (s) => {
    assert.deepEqual(s.typing, [{ userId: 'b', name: 'Bob', expiresAt: NOW + TYPING_SHOW_MS }]);
    assert.deepEqual(s.effects, []);
  }],
  ['typing again: moved last, expiry renewed', room({ typing: [{ userId: 'b', name: 'Bob', expiresAt: 1 }, { userId: 'a', name: 'Alice', expiresAt: 2 }] }),
    ev('typing', { userId: 'b', userName: 'Bob', typing: true }), (s) => {
      assert.deepEqual(s.typing, [{ userId: 'a', name: 'Alice', expiresAt: 2 }, { userId: 'b', name: 'Bob', expiresAt: NOW + TYPING_SHOW_MS }]);
    }],
  ['typing off: gone', room({ typing: [{ userId: 'b', name: 'Bob', expiresAt: NOW + 1 }] }), ev('typing', { userId: 'b', typing: false }), (s) => {
    assert.deepEqual(s.typing, []);
  }],
  ['typing off for someone not typing: nothing', room(), ev('typing', { userId: 'b', typing: false }), (s, before) => {
    assert.equal(s.typing, before.typing);
  }],
  ['typing without a name: "Someone"', room(), ev('typing', { userId: 'q', typing: true }), (s) => {
    assert.deepEqual(typingNames(s), ['Someone']);
  }],
  ['typing of ourselves (another tab): never shown', room(), ev('typing', { userId: 'me', userName: 'Meg', typing: true }), (s, before) => {
    assert.equal(s.typing, before.typing);
  }],
  ['typing without a user id: ignored', room(), ev('typing', { userName: 'X', typing: true }), (s, before) => {
    assert.equal(s.typing, before.typing);
  }],

  /* ---- room.closed, unknown ---- */
  ['room.closed: closed', room(), ev('room.closed', { reason: 'empty' }), (s) => {
    assert.equal(s.closed, true);
    assert.equal(s.removed, false);
    assert.equal(isOver(s), true);
  }],
  ['an unknown event type: nothing', room(), ev('room.renamed', { name: 'x' }), (s, before) => {
    for (const key of ['users', 'video', 'messages', 'typing']) assert.equal(s[key], before[key]);
    assert.deepEqual(s.effects, []);
  }],
  ['an event without data: nothing, no throw', room(), { type: 'user.presence', seq: 6 }, (s, before) => {
    assert.equal(s.users, before.users);
  }],
];

describe('applyEvent', () => {
  for (const [name, before, event, expect] of EVENT_ROWS) {
    test(name, () => {
      const after = applyEvent(before, deepFreeze(event), NOW);
      assert.notEqual(after, before, 'a new state object');
      expect(after, before);
    });
  }

  test('effects belong to one step only', () => {
    const joined = applyEvent(room({ users: [ALICE, MEG] }), ev('user.joined', { user: BOB }), NOW);
    assert.equal(joined.effects.length, 1);
    const next = applyEvent(deepFreeze(joined), ev('user.presence', { userId: 'b', online: true }), NOW);
    assert.deepEqual(next.effects, []);
  });

  const ENDINGS = [
    ['removed', (s) => applyEvent(s, ev('user.left', { userId: 'me', reason: 'kicked' }), NOW)],
    ['closed', (s) => applyEvent(s, ev('room.closed', { reason: 'empty' }), NOW)],
    ['leaving', (s) => markLeaving(s)],
  ];
  for (const [label, end] of ENDINGS) {
    test(`once ${label}, every event is ignored`, () => {
      const over = deepFreeze(end(room()));
      assert.equal(isOver(over), true);
      for (const [, , event] of EVENT_ROWS) {
        const after = applyEvent(over, event, NOW);
        for (const key of ['users', 'video', 'messages', 'typing', 'removed', 'kicked', 'closed', 'leaving']) {
          assert.equal(after[key], over[key], `${event.type} changed ${key}`);
        }
        assert.deepEqual(after.effects, [], `${event.type} had effects`);
      }
    });
  }

  test('a missing event is ignored', () => {
    const before = room();
    assert.equal(applyEvent(before, null, NOW).users, before.users);
  });
});

describe('applyState', () => {
  const fetched = (users, video = null, chat = []) => deepFreeze({ userId: 'me', room: { id: 'ABC123', seq: 9, users, video }, chat });

  test('replaces the users; history merges without duplicates', () => {
    const s = applyState(room(), fetched([ALICE, MEG], null, [msg(2), msg(4), msg(3)]));
    assert.deepEqual(names(s), ['Alice', 'Meg']);
    assert.deepEqual(s.messages.map((m) => m.id), [1, 2, 3, 4]);
    assert.deepEqual(s.effects, []);
    assert.equal(s.removed, false);
  });

  test('known history only: the messages stay the same array', () => {
    const before = room();
    const s = applyState(before, fetched([ALICE, MEG, BOB], null, [msg(1), msg(2)]));
    assert.equal(s.messages, before.messages);
  });

  test('a different video is handed on', () => {
    const s = applyState(room(), fetched([ALICE, MEG], VIDEO));
    assert.equal(s.video, VIDEO);
    assert.deepEqual(s.effects, [{ type: 'video' }]);
  });

  test('an equal video (new object) is kept and not handed on again', () => {
    const before = room({ video: VIDEO });
    const s = applyState(before, fetched([ALICE, MEG], { ...VIDEO }));
    assert.equal(s.video, before.video);
    assert.deepEqual(s.effects, []);
  });

  test('the video going away is handed on as null', () => {
    const s = applyState(room({ video: VIDEO }), fetched([ALICE, MEG], null));
    assert.equal(s.video, null);
    assert.deepEqual(s.effects, [{ type: 'video' }]);
  });

  test('becoming host while away (promoted, or the host left): host effect', () => {
    const s = applyState(room(), fetched([{ ...MEG, isHost: true }, BOB]));
    assert.equal(amHost(s), true);
    assert.deepEqual(s.effects, [{ type: 'host', isHost: true }]);
  });

  test('no longer host: host effect false', () => {
    const s = applyState(room({ users: [{ ...MEG, isHost: true }, ALICE] }), fetched([ALICE, MEG]));
    assert.deepEqual(s.effects, [{ type: 'host', isHost: false }]);
  });

  test('host effect comes before the video effect', () => {
    const s = applyState(room(), fetched([{ ...MEG, isHost: true }], VIDEO));
    assert.deepEqual(s.effects.map((e) => e.type), ['host', 'video']);
  });

  test('ourselves missing from the users: removed (not kicked), nothing else applied', () => {
    const before = room();
    const s = applyState(before, fetched([ALICE, BOB], VIDEO, [msg(7)]));
    assert.equal(s.removed, true);
    assert.equal(s.kicked, false);
    assert.equal(s.messages, before.messages);
    assert.equal(s.video, before.video);
    assert.deepEqual(s.effects, []);
  });

  test('users that are not a list count as nobody: removed', () => {
    const s = applyState(room(), deepFreeze({ room: { users: 'x' } }));
    assert.deepEqual(s.users, []);
    assert.equal(s.removed, true);
  });

  test('typing is left to expire on its own', () => {
    const before = room({ typing: [{ userId: 'b', name: 'Bob', expiresAt: 1 }] });
    const s = applyState(before, fetched([ALICE, MEG]));
    assert.equal(s.typing, before.typing);
  });

  for (const [label, fetchedState] of [['null', null], ['without a room', { chat: [] }]]) {
    test(`a state ${label} is ignored`, () => {
      const before = room();
      const s = applyState(before, fetchedState);
      assert.equal(s.users, before.users);
      assert.equal(s.removed, false);
    });
  }

  for (const [label, end] of [
    ['leaving', (s) => markLeaving(s)],
    ['removed', (s) => applyEvent(s, ev('user.left', { userId: 'me', reason: 'left' }), NOW)],
    ['closed', (s) => applyEvent(s, ev('room.closed', {}), NOW)],
  ]) {
    test(`ignored once ${label} (our own departure is not news)`, () => {
      const over = deepFreeze(end(room()));
      const s = applyState(over, fetched([ALICE, BOB], VIDEO, [msg(9)]));
      assert.equal(s.users, over.users);
      assert.equal(s.video, over.video);
      assert.equal(s.messages, over.messages);
      assert.equal(s.removed, over.removed);
      assert.equal(s.kicked, over.kicked);
      assert.deepEqual(s.effects, []);
    });
  }
});

describe('watching together', () => {
  const ITEM = { id: 1, url: 'https://e.com/a.webm', kind: 'file', videoId: null, title: null, addedBy: BOB.id };
  const TRACK = { url: 'https://e.com/a.vtt', label: 'English', lang: 'en' };
  const ev = (type, data, seq = 9) => ({ type, seq, at: 1, data });
  const watch = (s) => s.effects.filter((e) => e.type === 'watch').length;

  test('queue.updated replaces the queue; junk changes nothing', () => {
    const s = applyEvent(room(), ev('queue.updated', { queue: [ITEM] }));
    assert.deepEqual(s.queue, [ITEM]);
    assert.equal(watch(s), 1);
    const junk = applyEvent(s, ev('queue.updated', { queue: 'x' }));
    assert.equal(junk.queue, s.queue);
    assert.equal(watch(junk), 0);
  });

  test('video.subtitles sets and clears the track; video.set drops it, a play does not', () => {
    let s = applyEvent(room({ video: VIDEO }), ev('video.subtitles', { subtitles: TRACK }));
    assert.deepEqual(s.subtitles, TRACK);
    s = applyEvent(s, ev('video.play', { video: { ...VIDEO, playing: true } }));
    assert.deepEqual(s.subtitles, TRACK);
    assert.equal(watch(s), 0);
    s = applyEvent(s, ev('video.set', { video: VIDEO }));
    assert.equal(s.subtitles, null);
    assert.equal(watch(s), 1);
    s = applyEvent(applyEvent(s, ev('video.subtitles', { subtitles: TRACK })), ev('video.subtitles', { subtitles: null }));
    assert.equal(s.subtitles, null);
  });

  test('room.waiting names whom the room waits for; the pause keeps it, a play or seek ends it', () => {
    let s = applyEvent(room({ video: VIDEO }), ev('room.waiting', { userIds: [BOB.id] }));
    assert.deepEqual(s.waiting, [BOB.id]);
    for (const type of ['video.pause', 'video.sync']) {
      s = applyEvent(s, ev(type, { video: VIDEO }));
      assert.deepEqual(s.waiting, [BOB.id], type);
    }
    for (const type of ['video.play', 'video.seek', 'video.set']) {
      const t = applyEvent(s, ev(type, { video: VIDEO }));
      assert.equal(t.waiting, null, type);
      assert.equal(watch(t), 1, type);
    }
  });

  test('reaction: an effect only, nothing stored', () => {
    const s0 = room();
    const s = applyEvent(s0, ev('reaction', { userId: BOB.id, emoji: '🎉' }));
    assert.deepEqual(s.effects, [{ type: 'reaction', userId: BOB.id, emoji: '🎉' }]);
    assert.deepEqual({ ...s, effects: [] }, { ...s0, effects: [] });
    assert.deepEqual(applyEvent(s0, ev('reaction', { userId: 5 })).effects, []);
  });

  test('a fetched state carries queue, subtitles and waiting; unchanged ones are no news', () => {
    const fetched = { room: { users: [ALICE, MEG, BOB], video: VIDEO, queue: [ITEM], subtitles: TRACK, waiting: [BOB.id] }, chat: [] };
    const s = applyState(room({ video: VIDEO }), fetched);
    assert.deepEqual([s.queue, s.subtitles, s.waiting], [[ITEM], TRACK, [BOB.id]]);
    assert.equal(watch(s), 1);
    assert.equal(watch(applyState(s, structuredClone(fetched))), 0);
  });
});

describe('typing expiry', () => {
  const typing = [
    { userId: 'a', name: 'Alice', expiresAt: 1000 },
    { userId: 'b', name: 'Bob', expiresAt: 2000 },
    { userId: 'c', name: 'Cy', expiresAt: 3000 },
  ];
  for (const [now, left] of [
    [0, ['Alice', 'Bob', 'Cy']],
    [999, ['Alice', 'Bob', 'Cy']],
    [1000, ['Bob', 'Cy']],
    [2500, ['Cy']],
    [3000, []],
    [1e12, []],
  ]) {
    test(`at ${now}: ${left.join(', ') || 'nobody'}`, () => {
      const before = room({ typing });
      const s = expireTyping(before, now);
      assert.deepEqual(typingNames(s), left);
      if (left.length === 3) assert.equal(s.typing, before.typing, 'unchanged when nothing expired');
    });
  }

  test('an event dated now expires TYPING_SHOW_MS later, not a millisecond earlier', () => {
    let s = applyEvent(room(), ev('typing', { userId: 'b', userName: 'Bob', typing: true }), 10_000);
    s = expireTyping(deepFreeze(s), 10_000 + TYPING_SHOW_MS - 1);
    assert.deepEqual(typingNames(s), ['Bob']);
    s = expireTyping(deepFreeze(s), 10_000 + TYPING_SHOW_MS);
    assert.deepEqual(typingNames(s), []);
  });
});

describe('mergeMessages', () => {
  test('keeps the newest MAX_MESSAGES', () => {
    const many = Array.from({ length: MAX_MESSAGES + 5 }, (_, i) => msg(i + 1));
    const { list, added } = mergeMessages([], many);
    assert.equal(list.length, MAX_MESSAGES);
    assert.equal(list[0].id, 6);
    assert.equal(list.at(-1).id, MAX_MESSAGES + 5);
    assert.equal(added.length, MAX_MESSAGES);
  });

  test('a message older than everything kept, when full, is not added', () => {
    const full = Array.from({ length: MAX_MESSAGES }, (_, i) => msg(i + 10));
    const { list, added } = mergeMessages(full, [msg(1)]);
    assert.equal(list, full);
    assert.deepEqual(added, []);
  });

  test('a new message when full pushes out the oldest', () => {
    const full = Array.from({ length: MAX_MESSAGES }, (_, i) => msg(i + 10));
    const { list, added } = mergeMessages(full, [msg(10_000)]);
    assert.equal(list.length, MAX_MESSAGES);
    assert.equal(list[0].id, 11);
    assert.deepEqual(added.map((m) => m.id), [10_000]);
  });

  test('not a list: nothing', () => {
    const list = [msg(1)];
    assert.equal(mergeMessages(list, undefined).list, list);
    assert.equal(mergeMessages(list, { 0: msg(2) }).list, list);
  });
});

describe('a realistic sequence', () => {
  test('join, chat, promote, leave, beacons: the state follows and nothing is mutated', () => {
    let s = deepFreeze(initialState('me', { room: { users: [ALICE, MEG], video: null }, chat: [] }));
    const steps = [
      [ev('user.joined', { user: BOB }, 3), 1000],
      [ev('user.presence', { userId: 'b', online: true }, 4), 1010],
      [ev('typing', { userId: 'b', userName: 'Bob', typing: true }, 4), 1100],
      [ev('chat.message', { message: msg(1, 'b', 'hi') }, 5), 1200],
      [ev('chat.message', { message: msg(1, 'b', 'hi') }, 5), 1201],
      [ev('video.set', { video: VIDEO }, 6), 1300],
      [ev('video.sync', { video: { ...VIDEO, playing: true } }, 6), 1400],
      [ev('user.promoted', { userId: 'me' }, 7), 1500],
      [ev('user.left', { userId: 'a', reason: 'timeout' }, 8), 1600],
    ];
    const allEffects = [];
    for (const [event, now] of steps) {
      s = deepFreeze(applyEvent(s, event, now));
      allEffects.push(...s.effects);
    }
    assert.deepEqual(names(s), ['Meg', 'Bob']);
    assert.equal(amHost(s), true);
    assert.equal(s.users[1].online, true);
    assert.deepEqual(s.messages.map((m) => m.text), ['hi']);
    assert.deepEqual(s.typing, []);
    assert.equal(s.video.playing, true);
    assert.deepEqual(allEffects, [
      { type: 'toast', text: 'Bob joined' },
      { type: 'video' },
      { type: 'video' },
      { type: 'toast', text: 'You are now a host: you can pick the video and control playback' },
      { type: 'host', isHost: true },
      { type: 'toast', text: 'Alice lost connection and left' },
    ]);
  });
});

describe('access and moderation (issue 16)', () => {
  const ON = { ...DEFAULT_SETTINGS, locked: true, guestsCanControl: true };

  test('settings: from the room, replaced by room.settings and by a refetch, with a permissions effect', () => {
    const s = deepFreeze(initialState('me', { room: { users: [ALICE, MEG], video: null, settings: ON }, chat: [] }));
    assert.deepEqual(s.settings, ON);
    assert.equal(canControl(s), true);
    assert.equal(canChangeVideo(s), false);
    const next = applyEvent(s, ev('room.settings', { settings: { ...ON, guestsCanChangeVideo: true, extra: 1 } }));
    assert.deepEqual(next.settings, { ...ON, guestsCanChangeVideo: true });
    assert.deepEqual(next.effects, [{ type: 'permissions' }]);
    assert.equal(canChangeVideo(next), true);
    const same = applyState(s, { room: { users: [ALICE, MEG], settings: ON }, chat: [] });
    assert.equal(same.settings, s.settings, 'an unchanged refetch keeps the object');
    const off = applyState(s, { room: { users: [ALICE, MEG], settings: DEFAULT_SETTINGS }, chat: [] });
    assert.deepEqual(off.settings, DEFAULT_SETTINGS);
    assert.deepEqual(off.effects, [{ type: 'permissions' }]);
    assert.equal(canControl(off), false);
  });

  test('user.demoted: the role goes; this user is told', () => {
    const s = room({ users: [ALICE, { ...MEG, isHost: true }, BOB] });
    assert.equal(canControl(s), true);
    const next = applyEvent(s, ev('user.demoted', { userId: 'me' }));
    assert.equal(amHost(next), false);
    assert.equal(canControl(next), false);
    assert.deepEqual(next.effects, [{ type: 'toast', text: 'You are no longer a host' }, { type: 'host', isHost: false }]);
    assert.equal(applyEvent(s, ev('user.demoted', { userId: 'b' })).users, s.users, 'a guest: nothing');
  });

  test('user.muted: muted until a time, or until unmuted; a promotion ends it', () => {
    const s = room();
    const muted = applyEvent(s, ev('user.muted', { userId: 'me', muted: true, until: 5000 }));
    assert.equal(isMuted(me(muted), 4999), true);
    assert.equal(isMuted(me(muted), 5000), false, 'the mute ends by itself');
    assert.deepEqual(toasts(muted), ['A host muted you']);
    const forever = applyEvent(s, ev('user.muted', { userId: 'b', muted: true, until: null }));
    assert.equal(isMuted(forever.users[2], 1e15), true);
    assert.deepEqual(toasts(forever), []);
    const back = applyEvent(deepFreeze(forever), ev('user.muted', { userId: 'b', muted: false, until: null }));
    assert.deepEqual(back.users[2], BOB);
    const promoted = applyEvent(deepFreeze(forever), ev('user.promoted', { userId: 'b' }));
    assert.deepEqual(promoted.users[2], { ...BOB, isHost: true });
  });

  test('user.renamed and chat.deleted', () => {
    const s = room();
    const renamed = applyEvent(s, ev('user.renamed', { userId: 'b', userName: 'Robert' }));
    assert.deepEqual(names(renamed), ['Alice', 'Meg', 'Robert']);
    assert.deepEqual(toasts(renamed), ['Bob is now Robert']);
    assert.deepEqual(toasts(applyEvent(s, ev('user.renamed', { userId: 'me', userName: 'Megan' }))), []);
    const deleted = applyEvent(s, ev('chat.deleted', { id: 2 }));
    assert.deepEqual(deleted.messages[1], { ...msg(2), text: '', deleted: true });
    assert.equal(deleted.messages[0], s.messages[0]);
    assert.equal(applyEvent(deepFreeze(deleted), ev('chat.deleted', { id: 2 })).messages, deleted.messages, 'twice: nothing');
    assert.equal(applyEvent(s, ev('chat.deleted', { id: 99 })).messages, s.messages, 'unknown: nothing');
  });
});
