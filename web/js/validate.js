/*
 * Client-side copies of the server's input rules (DESIGN.md §3), used for
 * inline validation only; the server remains the judge.
 */

export const NAME_MIN = 2;
export const NAME_MAX = 50;
export const CHAT_MAX = 1000;
export const CHAT_COUNTER_FROM = 800;
export const ROOM_ID_LENGTH = 6;

const NAME_CHARS = /^[A-Za-z0-9 \-_.!?]+$/;
const ROOM_ID = /^[A-Z0-9]{6}$/;

/** Returns an error sentence for a user name, or null when it is acceptable. */
export function checkName(raw) {
  const name = String(raw ?? '').trim();
  if (name.length === 0) return 'Please enter your name.';
  if (name.length < NAME_MIN) return `Your name needs at least ${NAME_MIN} characters.`;
  if (name.length > NAME_MAX) return `Your name can have at most ${NAME_MAX} characters.`;
  if (!NAME_CHARS.test(name)) return 'Use letters, digits, spaces and - _ . ! ? only.';
  return null;
}

/** Upper-cases a typed room code and drops characters that can never be part of one. */
export function normaliseRoomId(raw) {
  return String(raw ?? '')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, ROOM_ID_LENGTH);
}

/** True when the string is a well-formed (already normalised) room id. */
export function isRoomId(id) {
  return ROOM_ID.test(String(id ?? ''));
}

/** Returns an error sentence for a room code, or null when it is acceptable. */
export function checkRoomId(raw) {
  const id = normaliseRoomId(raw);
  if (id.length === 0) return 'Please enter the room code.';
  if (!isRoomId(id)) return `A room code has ${ROOM_ID_LENGTH} letters or digits.`;
  return null;
}

/** Length of chat text as the server counts it: code points after trimming. */
export function chatLength(raw) {
  return [...String(raw ?? '').trim()].length;
}
