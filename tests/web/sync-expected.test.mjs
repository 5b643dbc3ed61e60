import test from 'node:test';
import assert from 'node:assert/strict';
import { expectedPosition, stateKey } from '../../web/js/sync/expected.js';

const base = { url: 'http://x/v.webm', kind: 'file', videoId: null, playing: true, position: 10, rate: 1, updatedAt: 1_700_000_000_000 };

test('paused: the position, whatever the time', () => {
  const v = { ...base, playing: false };
  assert.equal(expectedPosition(v, base.updatedAt + 99999), 10);
});

test('playing: position + elapsed server time * rate', () => {
  assert.equal(expectedPosition(base, base.updatedAt + 2500), 12.5);
  assert.equal(expectedPosition({ ...base, rate: 2 }, base.updatedAt + 2500), 15);
  assert.equal(expectedPosition({ ...base, rate: 0.5 }, base.updatedAt + 2000), 11);
});

test('a server time slightly before updatedAt is not clamped (no bias)', () => {
  assert.equal(expectedPosition(base, base.updatedAt - 20), 9.98);
});

test('clamped to [0, duration]', () => {
  assert.equal(expectedPosition({ ...base, position: 0 }, base.updatedAt - 5000), 0);
  assert.equal(expectedPosition(base, base.updatedAt + 60000, 30), 30);
  assert.equal(expectedPosition(null, 0), 0);
});

test('stateKey changes with the trajectory, not with beacons', () => {
  const beacon = { ...base };
  assert.equal(stateKey(base), stateKey(beacon));
  assert.notEqual(stateKey(base), stateKey({ ...base, updatedAt: base.updatedAt + 1 }));
  assert.notEqual(stateKey(base), stateKey({ ...base, playing: false }));
  assert.notEqual(stateKey(base), stateKey({ ...base, rate: 1.5 }));
  assert.notEqual(stateKey(base), stateKey({ ...base, url: 'http://y' }));
});
