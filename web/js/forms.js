/*
 * What the create and join forms (and the room page's name prompt) share:
 * live validation, mapping server errors onto the right field, and the
 * requests that produce an identity.
 */
import { request, roomPath } from './api.js';
import { setFieldError } from './dom.js';
import { saveIdentity } from './identity.js';

/**
 * Validates a field as the user types once it has been touched (blurred or submitted),
 * so people are not scolded before they finish typing.
 * check(value) returns an error sentence or null. Returns a function that validates now.
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

/** Creates a room; resolves to {roomId, userId, token, room} and remembers the identity. */
export async function createRoom(hostName) {
  const res = await request('POST', '/api/rooms', { hostName: hostName.trim() });
  saveIdentity(res.roomId, { userId: res.userId, token: res.token, name: hostName.trim() });
  return res;
}

/** Joins a room; resolves to {userId, token, room, chat} and remembers the identity. */
export async function joinRoom(roomId, userName) {
  const res = await request('POST', roomPath(roomId, '/join'), { userName: userName.trim() });
  saveIdentity(roomId, { userId: res.userId, token: res.token, name: userName.trim() });
  return res;
}

/**
 * Decides where a server error belongs: 'name', 'room' or 'form'.
 * Name problems arrive with field hostName/userName (409 name_taken, 400 invalid_field).
 */
export function errorTarget(err) {
  if (err.field === 'hostName' || err.field === 'userName' || err.code === 'name_taken') return 'name';
  if (err.code === 'room_not_found' || err.code === 'invalid_room_id') return 'room';
  return 'form';
}

/** A friendlier sentence for the errors people can fix themselves. */
export function errorText(err) {
  switch (err.code) {
    case 'name_taken':
      return 'Someone in this room already uses that name. Try another one.';
    case 'room_not_found':
      return 'There is no room with that code. Check it and try again.';
    case 'invalid_room_id':
      return 'A room code has 6 letters or digits.';
    default:
      return err.message || 'Something went wrong. Please try again.';
  }
}
