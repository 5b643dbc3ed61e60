/*
 * The Room settings panel (issue 16), for hosts: switches for Lock room,
 * Guests can control playback, Guests can change the video and Wait for
 * everyone, and the
 * room's password (Set password / Remove password). Each change is one
 * PATCH .../settings; the switches then show what the server answered, and
 * room.settings events keep every open panel in step. The panel also lists
 * the room's bans (fetched when it opens) with Unban for each. Everyone sees the
 * header's lock when the room is locked (the page renders that).
 */
import { h } from './dom.js';
import { roomPath } from './api.js';

const SWITCHES = [
  ['locked', 'Lock room', 'Nobody new can join; members can still come back.'],
  ['guestsCanControl', 'Guests can control playback', 'Anyone may play, pause, seek and change the speed.'],
  ['guestsCanChangeVideo', 'Guests can change the video', 'Anyone may pick what the room watches.'],
  /* Issue 17: the room pauses while a member's player buffers (docs/api.md). */
  ['waitForAll', 'Wait for everyone', 'Pause when someone’s video stalls, and start again together.'],
];
export const PASSWORD_MIN = 4;
export const PASSWORD_MAX = 64;

/** The error sentence for a password as typed, or null (4 to 64 characters). */
export function checkPassword(raw) {
  const n = [...String(raw ?? '')].length;
  if (n < PASSWORD_MIN || n > PASSWORD_MAX) return `A password has ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`;
  return null;
}

/**
 * button: the header's Room settings button (shown to hosts only). api: request() with the
 * token bound; onSettings(settings) puts an answer into the page's state.
 * Returns {render(settings, isHost)}.
 */
export function createSettingsPanel({ button, api, roomId, onSettings }) {
  let settings = null;
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const showError = (text) => {
    error.textContent = text || '';
    error.hidden = !text;
  };

  async function patch(body) {
    showError(null);
    try {
      const res = await api('PATCH', roomPath(roomId, '/settings'), body);
      if (res && res.settings) onSettings(res.settings);
      return true;
    } catch (err) {
      showError(err.message || 'The settings were not changed.');
      render(settings, true);
      return false;
    }
  }

  const switches = SWITCHES.map(([key, label, hint]) => {
    const input = h('input', { type: 'checkbox', role: 'switch', id: `setting-${key}`, 'aria-describedby': `setting-${key}-hint` });
    input.addEventListener('change', () => patch({ [key]: input.checked }));
    const row = h('div', { class: 'setting' },
      h('label', { class: 'switch', for: `setting-${key}` }, input, h('span', { class: 'switch-label' }, label)),
      h('p', { class: 'hint', id: `setting-${key}-hint` }, hint));
    return { key, input, row };
  });

  const password = h('input', { id: 'setting-password', type: 'password', autocomplete: 'new-password', maxlength: String(PASSWORD_MAX * 2), 'aria-describedby': 'setting-password-state' });
  const passwordState = h('p', { class: 'hint', id: 'setting-password-state' });
  const setPassword = h('button', { type: 'button', class: 'btn btn-small btn-secondary' }, 'Set password');
  const removePassword = h('button', { type: 'button', class: 'btn btn-small btn-ghost btn-danger-ghost' }, 'Remove password');
  setPassword.addEventListener('click', async () => {
    const bad = checkPassword(password.value);
    if (bad) {
      showError(bad);
      password.focus();
      return;
    }
    if (await patch({ password: password.value })) password.value = '';
  });
  removePassword.addEventListener('click', () => patch({ password: null }));

  const bansList = h('ul', { class: 'bans', 'aria-labelledby': 'bans-title' });
  const bansEmpty = h('p', { class: 'hint' }, 'Nobody is banned.');
  async function loadBans() {
    let res;
    try {
      res = await api('GET', roomPath(roomId, '/bans'));
    } catch (err) {
      showError(err.message || 'The bans could not be read.');
      return;
    }
    const bans = (res && Array.isArray(res.bans)) ? res.bans : [];
    bansEmpty.hidden = bans.length > 0;
    bansList.replaceChildren(...bans.map((ban) => {
      const unban = h('button', { type: 'button', class: 'btn btn-tiny btn-ghost' }, 'Unban');
      unban.addEventListener('click', async () => {
        try {
          await api('DELETE', roomPath(roomId, `/bans/${encodeURIComponent(ban.id)}`));
        } catch (err) {
          showError(err.message || 'The ban was not lifted.');
        }
        loadBans();
      });
      return h('li', { class: 'ban' }, h('span', { class: 'ban-name', text: String(ban.name) }), unban);
    }));
  }

  const titleId = 'settings-title';
  const close = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Close');
  const dialog = h('dialog', { class: 'dialog settings-dialog', id: 'settings-dialog', 'aria-labelledby': titleId },
    h('div', { class: 'dialog-form' },
      h('h2', { id: titleId }, 'Room settings'),
      ...switches.map((s) => s.row),
      h('div', { class: 'field setting-password' },
        h('label', { for: 'setting-password' }, 'Password'),
        password,
        passwordState,
        h('div', { class: 'password-actions' }, setPassword, removePassword)),
      h('h3', { id: 'bans-title', class: 'bans-title' }, 'Banned'),
      bansEmpty,
      bansList,
      error,
      h('div', { class: 'dialog-actions' }, close)));
  document.body.append(dialog);
  close.addEventListener('click', () => dialog.close());
  button.addEventListener('click', () => {
    showError(null);
    dialog.showModal();
    loadBans();
  });

  function render(next, isHost) {
    settings = next;
    button.hidden = !isHost;
    if (!isHost && dialog.open) dialog.close();
    for (const s of switches) s.input.checked = Boolean(next[s.key]);
    passwordState.textContent = next.hasPassword ? 'This room has a password.' : 'No password: anyone with the code can join.';
    removePassword.hidden = !next.hasPassword;
  }

  return { render };
}
