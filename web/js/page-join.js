/* /join: room code (upper-cased as typed; ?room= pre-fills it) and name, then go to the room;
 * the password field appears when the room turns out to have one. */
import { byId } from './dom.js';
import { normaliseRoomId } from './validate.js';
import { createIdentityForm, joinRoom } from './forms.js';
import { initThemeToggle } from './theme.js';

initThemeToggle();

const room = byId('room');
const name = byId('name');

const preset = new URLSearchParams(window.location.search).get('room');
if (preset) room.value = normaliseRoomId(preset);

createIdentityForm(
  {
    form: byId('join-form'),
    submit: byId('submit'),
    formError: byId('form-error'),
    fields: [
      { kind: 'room', input: room, error: byId('room-error') },
      { kind: 'name', input: name, error: byId('name-error') },
      { kind: 'password', input: byId('password'), error: byId('password-error'), wrap: byId('password-field') },
    ],
  },
  {
    send: (v) => joinRoom(v.room, v.name, v.password),
    done: (res, v) => window.location.assign(`/room/${encodeURIComponent(v.room)}`),
  },
);
(room.value.length === 6 ? name : room).focus();
