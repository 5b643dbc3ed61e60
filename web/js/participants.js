/*
 * The participants list: hosts first, then by join time; "(you)", a crown for
 * hosts, a muted icon, an online dot from presence; for hosts, per member:
 * Make host / Remove host, Mute / Unmute, Remove, Ban; on one's own entry,
 * Change name.
 * Rows are updated in place (keyed by user id) so keyboard focus survives
 * updates.
 */
import { h } from './dom.js';
import { isMuted } from './room-state.js';

/** Orders users as the server does: hosts first, then by joinedAt. */
export function sortUsers(users) {
  return [...users].sort((a, b) => {
    if (Boolean(a.isHost) !== Boolean(b.isHost)) return a.isHost ? -1 : 1;
    return (a.joinedAt || 0) - (b.joinedAt || 0);
  });
}

/**
 * listEl: the <ul>. actions: {onPromote, onDemote, onMute, onUnmute, onKick, onBan, onRename},
 * each called with the row's user.
 * Returns {render(users, meId)}.
 */
export function createParticipants(listEl, actions) {
  const rows = new Map();

  function makeRow(user) {
    const nameId = `person-${user.id}`;
    const dot = h('span', { class: 'presence-dot', 'aria-hidden': 'true' });
    const presenceText = h('span', { class: 'visually-hidden presence-text' });
    const name = h('span', { class: 'person-name', id: nameId });
    const you = h('span', { class: 'person-you', text: '(you)' });
    const crown = h('img', { class: 'crown', src: '/img/crown.svg', alt: 'Host', title: 'Host', width: 16, height: 16 });
    const mutedIcon = h('span', { class: 'muted-icon', role: 'img', 'aria-label': 'muted', title: 'Muted' }, '🔇');
    const button = (label, action, danger = false) => {
      const b = h('button', { type: 'button', class: `btn btn-tiny btn-ghost${danger ? ' btn-danger-ghost' : ''}`, 'aria-describedby': nameId }, label);
      b.addEventListener('click', () => action(row.user));
      return b;
    };
    const row = { user };
    Object.assign(row, {
      promote: button('Make host', actions.onPromote),
      demote: button('Remove host', actions.onDemote),
      mute: button('Mute', actions.onMute),
      unmute: button('Unmute', actions.onUnmute),
      kick: button('Remove', actions.onKick, true),
      ban: button('Ban', actions.onBan, true),
      rename: button('Change name', actions.onRename),
    });
    row.li = h('li', { class: 'person', dataset: { userId: user.id } },
      dot,
      h('span', { class: 'person-main' }, name, presenceText, you, crown, mutedIcon),
      h('span', { class: 'person-actions' }, row.promote, row.demote, row.mute, row.unmute, row.kick, row.ban, row.rename));
    Object.assign(row, { dot, presenceText, name, you, crown, mutedIcon });
    return row;
  }

  function update(row, user, meId, iAmHost, now, hosts) {
    row.user = user;
    const isMe = user.id === meId;
    if (row.name.textContent !== user.name) {
      row.name.textContent = user.name;
      row.name.title = user.name;
    }
    row.li.classList.toggle('is-host', Boolean(user.isHost));
    row.li.classList.toggle('is-me', isMe);
    row.li.classList.toggle('is-online', Boolean(user.online));
    row.dot.title = user.online ? 'Online' : 'Offline';
    row.presenceText.textContent = user.online ? ', online' : ', offline';
    row.you.hidden = !isMe;
    row.crown.hidden = !user.isHost;
    const muted = isMuted(user, now);
    row.mutedIcon.hidden = !muted;
    row.promote.hidden = !iAmHost || isMe || Boolean(user.isHost);
    row.demote.hidden = !iAmHost || !user.isHost || hosts < 2; /* the room keeps a host */
    row.mute.hidden = !iAmHost || Boolean(user.isHost) || muted;
    row.unmute.hidden = !iAmHost || Boolean(user.isHost) || !muted;
    row.kick.hidden = !iAmHost || isMe;
    row.ban.hidden = !iAmHost || isMe;
    row.rename.hidden = !isMe;
  }

  return {
    render(users, meId, now = Date.now()) {
      const me = users.find((u) => u.id === meId);
      const iAmHost = Boolean(me && me.isHost);
      const sorted = sortUsers(users);
      const hosts = users.filter((u) => u.isHost).length;
      const seen = new Set();
      sorted.forEach((user, i) => {
        seen.add(user.id);
        let row = rows.get(user.id);
        if (!row) {
          row = makeRow(user);
          rows.set(user.id, row);
        }
        update(row, user, meId, iAmHost, now, hosts);
        if (listEl.children[i] !== row.li) listEl.insertBefore(row.li, listEl.children[i] || null);
      });
      for (const [id, row] of rows) {
        if (!seen.has(id)) {
          row.li.remove();
          rows.delete(id);
        }
      }
    },
  };
}
