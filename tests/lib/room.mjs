// Room fixtures for the integration tests.
import assert from 'node:assert/strict';
import { waitFor } from './client.mjs';

// Creates a room with a host and the given guests; returns { roomId, host, guests: [...] } where
// each member is { userId, token, name }.
export async function makeRoom(req, hostName = 'Alice', guestNames = []) {
  const created = await req('POST', '/api/rooms', { hostName });
  assert.equal(created.status, 201, created.text);
  const roomId = created.json.roomId;
  const host = { userId: created.json.userId, token: created.json.token, name: hostName };
  const guests = [];
  for (const name of guestNames) {
    const joined = await req('POST', `/api/rooms/${roomId}/join`, { userName: name });
    assert.equal(joined.status, 201, joined.text);
    guests.push({ userId: joined.json.userId, token: joined.json.token, name });
  }
  return { roomId, host, guests };
}

// The full state as a member sees it (room + chat), for before/after comparisons.
export async function snapshot(req, roomId, token) {
  const res = await req('GET', `/api/rooms/${roomId}`, null, token);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

// Waits until the room's seq has not moved for quietMs (at least two of the 100 ms windows in
// which joins and presence changes are coalesced): announcements still waiting for the room's
// flush have gone out, so that a test comparing seq or state before and after an action sees
// only that action.
export async function settled(req, roomId, token, quietMs = 250, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let seq = (await snapshot(req, roomId, token)).room.seq;
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`room ${roomId} still moving after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
    const now = (await snapshot(req, roomId, token)).room.seq;
    if (now !== seq) { seq = now; since = Date.now(); }
  }
}

// Resolves once the room's state shows the member online (its stream's presence counted) and
// the room has settled (its announcement, which may wait for the room's next presence batch,
// is out). On the scale-out shape a stream may miss its own user.presence, published in its
// first milliseconds (docs/scaling.md, known limits); the state is what the page reads.
export async function onlineIn(req, roomId, token, userId, timeoutMs = 5000) {
  await waitFor(async () => (await snapshot(req, roomId, token)).room.users
    .some((u) => u.id === userId && u.online), timeoutMs, `${userId} online in ${roomId}`);
  await settled(req, roomId, token);
}
