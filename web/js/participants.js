/*
 * The participants list: hosts first, then by join time; "(you)", a crown for
 * hosts, an online dot from presence, and Make host / Remove for hosts.
 * Rows are updated in place (keyed by user id) so keyboard focus survives
 * updates.
 */
import { h } from './dom.js';

/** Orders users as the server does: hosts first, then by joinedAt. */
export function sortUsers(users) {
  return [...users].sort((a, b) => {
    if (Boolean(a.isHost) !== Boolean(b.isHost)) return a.isHost ? -1 : 1;
    return (a.joinedAt || 0) - (b.joinedAt || 0);
  });
}

/**
 * listEl: the <ul>. actions: {onPromote(user), onKick(user)}.
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
    const promote = h('button', { type: 'button', class: 'btn btn-tiny btn-ghost', 'aria-describedby': nameId }, 'Make host');
    const kick = h('button', { type: 'button', class: 'btn btn-tiny btn-ghost btn-danger-ghost', 'aria-describedby': nameId }, 'Remove');
    const li = h('li', { class: 'person', dataset: { userId: user.id } },
      dot,
      h('span', { class: 'person-main' }, name, presenceText, you, crown),
      h('span', { class: 'person-actions' }, promote, kick));
    const row = { li, dot, presenceText, name, you, crown, promote, kick, user };
    promote.addEventListener('click', () => actions.onPromote(row.user));
    kick.addEventListener('click', () => actions.onKick(row.user));
    return row;
  }

  function update(row, user, meId, iAmHost) {
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
    row.promote.hidden = !iAmHost || isMe || Boolean(user.isHost);
    row.kick.hidden = !iAmHost || isMe;
  }

  return {
    render(users, meId) {
      const me = users.find((u) => u.id === meId);
      const iAmHost = Boolean(me && me.isHost);
      const sorted = sortUsers(users);
      const seen = new Set();
      sorted.forEach((user, i) => {
        seen.add(user.id);
        let row = rows.get(user.id);
        if (!row) {
          row = makeRow(user);
          rows.set(user.id, row);
        }
        update(row, user, meId, iAmHost);
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
