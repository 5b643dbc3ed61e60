/* /join: room code (upper-cased as typed) and name, then go to the room. */
import { byId, setBusy, setFieldError } from './dom.js';
import { checkName, checkRoomId, normaliseRoomId } from './validate.js';
import { errorTarget, errorText, joinRoom, liveValidate } from './forms.js';
import { initThemeToggle } from './theme.js';

initThemeToggle();

const form = byId('join-form');
const room = byId('room');
const roomError = byId('room-error');
const name = byId('name');
const nameError = byId('name-error');
const formError = byId('form-error');
const submit = byId('submit');

const preset = new URLSearchParams(window.location.search).get('room');
if (preset) room.value = normaliseRoomId(preset);

room.addEventListener('input', () => {
  const start = room.selectionStart;
  const before = room.value;
  const after = normaliseRoomId(before);
  if (after !== before) {
    room.value = after;
    /* Keep the caret where the person was typing. */
    const pos = Math.min(after.length, start ?? after.length);
    room.setSelectionRange(pos, pos);
  }
});

const validateRoom = liveValidate(room, roomError, checkRoomId);
const validateName = liveValidate(name, nameError, checkName);
(room.value.length === 6 ? name : room).focus();

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  formError.hidden = true;
  const badRoom = validateRoom();
  const badName = validateName();
  if (badRoom || badName) {
    (badRoom ? room : name).focus();
    return;
  }
  const roomId = normaliseRoomId(room.value);
  setBusy(submit, true);
  try {
    await joinRoom(roomId, name.value);
    window.location.assign(`/room/${encodeURIComponent(roomId)}`);
  } catch (err) {
    setBusy(submit, false);
    const target = errorTarget(err);
    if (target === 'name') {
      setFieldError(name, nameError, errorText(err));
      name.focus();
    } else if (target === 'room') {
      setFieldError(room, roomError, errorText(err));
      room.focus();
    } else {
      formError.textContent = errorText(err);
      formError.hidden = false;
    }
  }
});
