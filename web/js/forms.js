/*
 * The identity forms, written once: /create, /join and the room page's name
 * prompt all go through createIdentityForm(). It validates each field like
 * the server (validate.js), shows the error under the field once it has been
 * touched, disables the button while the request is out, and puts a server
 * error under the field it is about, or above the button when it concerns
 * the whole form. Also the two requests that produce an identity.
 */
import { request, roomPath } from './api.js';
import { setBusy, setFieldError } from './dom.js';
import { saveIdentity } from './identity.js';
import { checkName, checkRoomId, normaliseRoomId } from './validate.js';
import { checkPassword } from './settings.js';

/*
 * The fields a form may have, in one table: check(raw) gives an error sentence or null;
 * value(raw) is what is sent; normalise(raw), when present, rewrites the input as typed.
 */
export const FIELDS = {
  name: { check: checkName, value: (raw) => String(raw ?? '').trim() },
  room: { check: checkRoomId, value: normaliseRoomId, normalise: normaliseRoomId },
  /* Asked only when the room has one: the field's wrap stays hidden until then. */
  password: { check: (raw) => (raw === '' ? 'Enter the room\'s password.' : checkPassword(raw)), value: (raw) => String(raw ?? '') },
};

/** Sentences for the server errors a person can act on, by code. */
const ERROR_TEXT = {
  name_taken: () => 'Someone in this room already uses that name. Try another one.',
  room_not_found: () => 'There is no room with that code. Check it and try again.',
  invalid_room_id: () => 'A room code has 6 letters or digits.',
  room_locked: () => 'This room is locked: a host has closed it to new people.',
  password_required: () => 'This room has a password. Ask the host for it.',
  wrong_password: () => 'That password is not right.',
  banned: () => 'A host has banned you from this room.',
  rate_limited: (err) => (err.retryAfter > 0
    ? `Too many requests. Try again in ${err.retryAfter} s.`
    : 'Too many requests. Please wait a moment.'),
  overloaded: (err) => (err.retryAfter > 0
    ? `The server is busy right now. Try again in ${err.retryAfter} s.`
    : 'The server is busy right now. Try again in a moment.'),
};

/**
 * Decides where a server error belongs: 'name', 'room' or 'form'.
 * Name problems arrive with field hostName/userName (409 name_taken, 400 invalid_field).
 */
export function errorTarget(err) {
  if (err.field === 'password') return 'password';
  if (err.field === 'hostName' || err.field === 'userName' || err.code === 'name_taken') return 'name';
  if (err.code === 'room_not_found' || err.code === 'invalid_room_id') return 'room';
  return 'form';
}

/**
 * A sentence for an ApiError: ours for the codes in ERROR_TEXT (any 429 counts as
 * rate_limited), else the server's message.
 */
export function errorText(err) {
  let code = Object.hasOwn(ERROR_TEXT, err.code) ? err.code : null;
  if (!code && err.status === 429) code = 'rate_limited';
  if (code) return ERROR_TEXT[code](err);
  return err.message || 'Something went wrong. Please try again.';
}

/**
 * Validates a field as the user types once it has been touched (blurred with something in
 * it, or submitted), so people are not scolded before they finish typing.
 * check(value) returns an error sentence or null. Returns a function that validates now
 * (and marks the field touched); it returns the error sentence or null.
 */
export function liveValidate(input, errorEl, check) {
  let touched = false;
  const run = () => {
    const message = check(input.value);
    setFieldError(input, errorEl, touched ? message : null);
    return message;
  };
  input.addEventListener('blur', () => {
    if (input.value !== '') touched = true;
    run();
  });
  input.addEventListener('input', () => {
    if (touched) run();
  });
  return () => {
    touched = true;
    return run();
  };
}

/* Rewrites the input as typed (e.g. upper-cases a room code), keeping the caret in place. */
function normaliseAsTyped(input, normalise) {
  input.addEventListener('input', () => {
    const start = input.selectionStart;
    const before = input.value;
    const after = normalise(before);
    if (after !== before) {
      input.value = after;
      const pos = Math.min(after.length, start ?? after.length);
      input.setSelectionRange(pos, pos);
    }
  });
}

/**
 * Wires one identity form.
 *   els      {form, submit, formError, fields: [{kind: 'room'|'name'|'password', input, error,
 *            wrap?}, ...]} fields in page order: the first invalid one gets the focus; a field
 *            whose wrap is hidden is left out (the password, until the room turns out to have
 *            one: a password_required answer shows it)
 *   send     async (values) => result: the request, with values {name, room} as sent
 *            (trimmed, normalised); its ApiError rejections are shown
 *   done     (result, values) => void after success; the button stays busy (the page moves on)
 *   claim    optional (err) => boolean: handles an error itself instead (true = handled)
 * A submit validates every field (all errors show), focuses the first bad one and stops;
 * otherwise hides the form error, disables the button and sends. A failure re-enables the
 * button and shows the error on its field when this form has it (focusing that field), else
 * in formError. Returns {values()} (the current values as they would be sent).
 */
export function createIdentityForm(els, { send, done, claim = () => false }) {
  const fields = els.fields.map((f) => {
    const rule = FIELDS[f.kind];
    if (!rule) throw new Error(`unknown form field ${f.kind}`);
    /* The rewrite listens first, so the live check sees the field as it is shown. */
    if (rule.normalise) normaliseAsTyped(f.input, rule.normalise);
    return { ...f, rule, validate: liveValidate(f.input, f.error, rule.check) };
  });
  let busy = false;

  const active = () => fields.filter((f) => !f.wrap || !f.wrap.hidden);
  const values = () => Object.fromEntries(active().map((f) => [f.kind, f.rule.value(f.input.value)]));

  els.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    els.formError.hidden = true;
    const bad = active().filter((f) => f.validate() !== null);
    if (bad.length) {
      bad[0].input.focus();
      return;
    }
    const v = values();
    busy = true;
    setBusy(els.submit, true);
    let result;
    try {
      result = await send(v);
    } catch (err) {
      busy = false;
      setBusy(els.submit, false);
      if (claim(err)) return;
      const target = fields.find((f) => f.kind === errorTarget(err));
      if (target && target.wrap) target.wrap.hidden = false;
      if (target) {
        setFieldError(target.input, target.error, errorText(err));
        target.input.focus();
      } else {
        els.formError.textContent = errorText(err);
        els.formError.hidden = false;
      }
      return;
    }
    done(result, v);
  });

  return { values };
}

/** Creates a room; resolves to {roomId, userId, token, room} and remembers the identity. */
export async function createRoom(hostName) {
  const res = await request('POST', '/api/rooms', { hostName: hostName.trim() });
  saveIdentity(res.roomId, { userId: res.userId, token: res.token, name: hostName.trim() });
  return res;
}

/**
 * Joins a room (with its password when given); resolves to {userId, token, room, chat} and
 * remembers the identity.
 */
export async function joinRoom(roomId, userName, password) {
  const body = { userName: userName.trim() };
  if (password !== undefined) body.password = password;
  const res = await request('POST', roomPath(roomId, '/join'), body);
  saveIdentity(roomId, { userId: res.userId, token: res.token, name: userName.trim() });
  return res;
}
