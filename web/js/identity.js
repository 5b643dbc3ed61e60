/*
 * Who this tab is in each room: {userId, token, name} kept in sessionStorage,
 * so a reload rejoins silently and two tabs can be two different users.
 */

const PREFIX = 'wnc:identity:';

/** Returns the saved identity for a room, or null. */
export function loadIdentity(roomId) {
  try {
    const raw = window.sessionStorage.getItem(PREFIX + roomId);
    if (!raw) return null;
    const v = JSON.parse(raw);
    if (v && typeof v.userId === 'string' && typeof v.token === 'string') return v;
  } catch (err) {
    /* Corrupt or unavailable storage: behave as a new visitor. */
  }
  return null;
}

/** Saves the identity for a room (silently does nothing when storage is unavailable). */
export function saveIdentity(roomId, identity) {
  try {
    window.sessionStorage.setItem(
      PREFIX + roomId,
      JSON.stringify({ userId: identity.userId, token: identity.token, name: identity.name || '' }),
    );
  } catch (err) {
    /* Without storage the page still works; a reload will ask for a name again. */
  }
}

/** Forgets the identity for a room. */
export function clearIdentity(roomId) {
  try {
    window.sessionStorage.removeItem(PREFIX + roomId);
  } catch (err) {
    /* Nothing to forget. */
  }
}
