/* /create: pick a name, create a room, go to it. */
import { byId, setBusy, setFieldError } from './dom.js';
import { checkName } from './validate.js';
import { createRoom, errorTarget, errorText, liveValidate } from './forms.js';
import { initThemeToggle } from './theme.js';

initThemeToggle();

const form = byId('create-form');
const name = byId('name');
const nameError = byId('name-error');
const formError = byId('form-error');
const submit = byId('submit');

const validateName = liveValidate(name, nameError, checkName);
name.focus();

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  formError.hidden = true;
  if (validateName()) {
    name.focus();
    return;
  }
  setBusy(submit, true);
  try {
    const res = await createRoom(name.value);
    window.location.assign(`/room/${encodeURIComponent(res.roomId)}`);
  } catch (err) {
    setBusy(submit, false);
    if (errorTarget(err) === 'name') {
      setFieldError(name, nameError, errorText(err));
      name.focus();
    } else {
      formError.textContent = errorText(err);
      formError.hidden = false;
    }
  }
});
