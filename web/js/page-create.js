/* /create: pick a name, create a room, go to it. */
import { byId } from './dom.js';
import { createIdentityForm, createRoom } from './forms.js';
import { initThemeToggle } from './theme.js';

initThemeToggle();

createIdentityForm(
  {
    form: byId('create-form'),
    submit: byId('submit'),
    formError: byId('form-error'),
    fields: [{ kind: 'name', input: byId('name'), error: byId('name-error') }],
  },
  {
    send: ({ name }) => createRoom(name),
    done: (res) => window.location.assign(`/room/${encodeURIComponent(res.roomId)}`),
  },
);
byId('name').focus();
