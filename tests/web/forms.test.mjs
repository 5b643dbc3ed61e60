/*
 * web/js/forms.js, the one identity-form flow behind /create, /join and the
 * room page's name prompt, in Node with a few fake elements: name rules
 * against a copy of the server's validator (core/valid.c valid_name), the
 * room code rewritten as typed, inline errors once a field is touched, the
 * busy button, and every server error a person can meet mapped to the field
 * or the form (through api.js's request() with a fake fetch).
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, request } from '../../web/js/api.js';
import { clearIfUnchanged } from '../../web/js/dom.js';
import {
  FIELDS,
  createIdentityForm,
  createRoom,
  errorTarget,
  errorText,
  joinRoom,
} from '../../web/js/forms.js';

/* ---- a few fake elements: just what forms.js and dom.js touch ---- */

let focused = null;

class FakeElement {
  constructor(id) {
    this.id = id;
    this.value = '';
    this.hidden = false;
    this.disabled = false;
    this.textContent = '';
    this.selectionStart = null;
    this.attrs = new Map();
    this.classes = new Set();
    this.listeners = {};
    this.classList = {
      toggle: (name, on) => (on ? this.classes.add(name) : this.classes.delete(name)),
      contains: (name) => this.classes.has(name),
    };
  }

  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }

  /* Fires an event; resolves once every (possibly async) listener has finished. */
  fire(type) {
    const event = { type, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    return Promise.all((this.listeners[type] || []).map((fn) => fn(event))).then(() => event);
  }

  setAttribute(name, value) {
    this.attrs.set(name, String(value));
  }

  getAttribute(name) {
    return this.attrs.has(name) ? this.attrs.get(name) : null;
  }

  removeAttribute(name) {
    this.attrs.delete(name);
  }

  focus() {
    focused = this;
  }

  setSelectionRange(start) {
    this.selectionStart = start;
  }
}

/* The person at the keyboard. */
function type(input, text, caret = text.length) {
  input.value = text;
  input.selectionStart = caret;
  return input.fire('input');
}
const blur = (input) => input.fire('blur');

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/* A form as one of the pages builds it: kinds in page order, e.g. ['room', 'name']. */
function makeForm(kinds, options = {}) {
  const els = {
    form: new FakeElement('form'),
    submit: new FakeElement('submit'),
    formError: new FakeElement('form-error'),
    fields: kinds.map((kind) => ({ kind, input: new FakeElement(kind), error: new FakeElement(`${kind}-error`) })),
  };
  els.formError.hidden = true;
  for (const f of els.fields) f.error.hidden = true;
  const calls = { send: [], done: [], claim: [] };
  const form = createIdentityForm(els, {
    send: (values) => {
      calls.send.push(values);
      return options.send ? options.send(values) : Promise.resolve({ ok: true });
    },
    done: (result, values) => calls.done.push([result, values]),
    ...(options.claim ? { claim: (err) => {
      calls.claim.push(err);
      return options.claim(err);
    } } : {}),
  });
  const field = (kind) => els.fields.find((f) => f.kind === kind);
  return { els, calls, form, field, submit: () => els.form.fire('submit') };
}

const isBusy = (button) => button.disabled && button.classList.contains('is-busy') && button.getAttribute('aria-busy') === 'true';
const isIdle = (button) => !button.disabled && !button.classList.contains('is-busy') && button.getAttribute('aria-busy') === null;

/* ---- the server's rule, as core/valid.c valid_name has it ---- */

function serverAcceptsName(sent) {
  let start = 0;
  let end = sent.length;
  while (start < end && sent[start] === ' ') start += 1;
  while (end > start && sent[end - 1] === ' ') end -= 1;
  /* valid_name counts bytes; a non-ASCII character is refused below anyway. */
  const bytes = Buffer.byteLength(sent.slice(start, end));
  if (bytes < 2 || bytes > 50) return false;
  return /^[A-Za-z0-9 \-_.!?]*$/.test(sent.slice(start, end));
}

describe('the name, checked like the server', () => {
  const ROWS = [
    ['', 'Please enter your name.'],
    ['     ', 'Please enter your name.'],
    ['A', 'Your name needs at least 2 characters.'],
    ['  A  ', 'Your name needs at least 2 characters.'],
    ['Al', null],
    ['  Bob  ', null],
    ['Dr. Who?! -_x', null],
    ['x'.repeat(50), null],
    [`   ${'x'.repeat(50)}   `, null],
    ['x'.repeat(51), 'Your name can have at most 50 characters.'],
    ['<b>x</b>', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['Zoë', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['名前', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['Bob 🍿', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['a\tb', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['a\nb', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['a\u0000b', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['Bob;DROP', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['a\u00a0b', 'Use letters, digits, spaces and - _ . ! ? only.'],
    ['"Al"', 'Use letters, digits, spaces and - _ . ! ? only.'],
  ];
  for (const [raw, expected] of ROWS) {
    test(`${JSON.stringify(raw)} -> ${expected ?? 'ok'}`, () => {
      assert.equal(FIELDS.name.check(raw), expected);
      assert.equal(serverAcceptsName(FIELDS.name.value(raw)), expected === null, 'the server agrees');
    });
  }

  test('what is sent is trimmed', () => {
    assert.equal(FIELDS.name.value('  Bob  '), 'Bob');
    assert.equal(FIELDS.name.value('\tBob\n'), 'Bob');
  });

  test('2000 random names: the form accepts exactly what the server accepts', () => {
    const alphabet = ['a', 'Z', '0', ' ', '-', '_', '.', '!', '?', '\t', '<', 'é', '\u00a0', ';', '🍿'];
    let seed = 42;
    const rand = (n) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i += 1) {
      const length = rand(56);
      let raw = '';
      for (let j = 0; j < length; j += 1) raw += alphabet[rand(alphabet.length)];
      assert.equal(FIELDS.name.check(raw) === null, serverAcceptsName(FIELDS.name.value(raw)), JSON.stringify(raw));
    }
  });
});

describe('the room code field', () => {
  test('is upper-cased and cleaned as typed, the caret kept', async () => {
    const { field } = makeForm(['room', 'name']);
    const room = field('room').input;
    await type(room, 'ab-c1 2z9');
    assert.equal(room.value, 'ABC12Z');
    assert.equal(room.selectionStart, 6);
    await type(room, 'a-bc', 2);
    assert.equal(room.value, 'ABC');
    assert.equal(room.selectionStart, 2);
    await type(room, 'ABC');
    assert.equal(room.selectionStart, 3, 'a value that needs nothing is left alone');
  });

  test('a lower-case code is fine, a short one is not', async () => {
    const { field } = makeForm(['room', 'name']);
    const room = field('room').input;
    await type(room, 'abc12');
    await blur(room);
    assert.equal(field('room').error.textContent, 'A room code has 6 letters or digits.');
    await type(room, 'abc12z');
    assert.equal(field('room').error.hidden, true, 'the lower-case code was fine once upper-cased');
  });

  for (const [raw, expected] of [
    ['', 'Please enter the room code.'],
    ['--', 'Please enter the room code.'],
    ['abc', 'A room code has 6 letters or digits.'],
    ['abc123', null],
    ['ABC1234', null],
  ]) {
    test(`${JSON.stringify(raw)} -> ${expected ?? 'ok'}`, () => {
      assert.equal(FIELDS.room.check(raw), expected);
    });
  }
});

describe('inline errors', () => {
  test('nothing is shown before a field is touched', async () => {
    const { field } = makeForm(['name']);
    const name = field('name');
    await type(name.input, 'A');
    assert.equal(name.error.hidden, true);
    await type(name.input, '');
    await blur(name.input);
    assert.equal(name.error.hidden, true, 'leaving an empty field is not an error yet');
  });

  test('after a blur with text, errors follow the typing', async () => {
    const { field } = makeForm(['name']);
    const name = field('name');
    await type(name.input, 'A');
    await blur(name.input);
    assert.equal(name.error.hidden, false);
    assert.equal(name.error.textContent, 'Your name needs at least 2 characters.');
    assert.equal(name.input.getAttribute('aria-invalid'), 'true');
    await type(name.input, 'Al');
    assert.equal(name.error.hidden, true);
    assert.equal(name.error.textContent, '');
    assert.equal(name.input.getAttribute('aria-invalid'), null);
  });

  test('a submit shows every field\'s error, focuses the first, sends nothing', async () => {
    const { field, calls, els, submit } = makeForm(['room', 'name']);
    const event = await submit();
    assert.equal(event.defaultPrevented, true);
    assert.equal(field('room').error.textContent, 'Please enter the room code.');
    assert.equal(field('name').error.textContent, 'Please enter your name.');
    assert.equal(focused, field('room').input);
    assert.deepEqual(calls.send, []);
    assert.ok(isIdle(els.submit));

    await type(field('room').input, 'ABC123');
    await submit();
    assert.equal(field('room').error.hidden, true);
    assert.equal(focused, field('name').input);
    await type(field('name').input, '<b>');
    assert.equal(field('name').error.textContent, 'Use letters, digits, spaces and - _ . ! ? only.', 'touched by the submit');
  });
});

describe('submitting', () => {
  test('sends the values as the server wants them; the button is busy until the page moves on', async () => {
    const answer = deferred();
    const { field, calls, els, submit } = makeForm(['room', 'name'], { send: () => answer.promise });
    await type(field('room').input, 'abc123');
    await type(field('name').input, '  Bob  ');
    const sent = submit();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls.send, [{ room: 'ABC123', name: 'Bob' }]);
    assert.ok(isBusy(els.submit), 'busy while the request is out');

    const again = submit();
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.send.length, 1, 'a second submit while busy sends nothing');
    await again;

    answer.resolve({ userId: 'u1' });
    await sent;
    assert.deepEqual(calls.done, [[{ userId: 'u1' }, { room: 'ABC123', name: 'Bob' }]]);
    assert.ok(isBusy(els.submit), 'still busy: the page is moving on');
  });

  test('the form error of an earlier attempt is hidden again', async () => {
    let fail = true;
    const { field, els, submit } = makeForm(['name'], {
      send: () => (fail ? Promise.reject(new ApiError(503, 'overloaded', 'busy')) : Promise.resolve({})),
    });
    await type(field('name').input, 'Bob');
    await submit();
    assert.equal(els.formError.hidden, false);
    fail = false;
    await submit();
    assert.equal(els.formError.hidden, true);
  });
});

describe('server errors', () => {
  /* [label, error, form kinds, where: 'name' | 'room' | 'form', text] */
  const ROWS = [
    ['409 name_taken (join)', new ApiError(409, 'name_taken', 'that name is already taken in this room', 'userName'), ['room', 'name'], 'name',
      'Someone in this room already uses that name. Try another one.'],
    ['409 name_taken (create)', new ApiError(409, 'name_taken', 'x', 'hostName'), ['name'], 'name',
      'Someone in this room already uses that name. Try another one.'],
    ['400 invalid_field on the name', new ApiError(400, 'invalid_field', 'names may use letters, digits, spaces and - _ . ! ?', 'userName'), ['name'], 'name',
      'names may use letters, digits, spaces and - _ . ! ?'],
    ['404 room_not_found (join page: under the code)', new ApiError(404, 'room_not_found', 'room not found'), ['room', 'name'], 'room',
      'There is no room with that code. Check it and try again.'],
    ['404 room_not_found (no code field: above the button)', new ApiError(404, 'room_not_found', 'room not found'), ['name'], 'form',
      'There is no room with that code. Check it and try again.'],
    ['400 invalid_room_id', new ApiError(400, 'invalid_room_id', 'bad room id', 'roomId'), ['room', 'name'], 'room',
      'A room code has 6 letters or digits.'],
    ['429 with Retry-After', new ApiError(429, 'rate_limited', 'Too many requests. Try again in 7 s.', null, 7), ['name'], 'form',
      'Too many requests. Try again in 7 s.'],
    ['429 without Retry-After', new ApiError(429, 'rate_limited', 'too many requests, slow down'), ['room', 'name'], 'form',
      'Too many requests. Please wait a moment.'],
    ['429 without a JSON body', new ApiError(429, 'http_429', 'Too many requests. Try again in 3 s.', null, 3), ['name'], 'form',
      'Too many requests. Try again in 3 s.'],
    ['429 under another code: still "too many requests"', new ApiError(429, 'slow_down', 'please slow down'), ['name'], 'form',
      'Too many requests. Please wait a moment.'],
    ['503 overloaded with Retry-After', new ApiError(503, 'overloaded', 'the service is busy, retry in a moment', null, 1), ['name'], 'form',
      'The server is busy right now. Try again in 1 s.'],
    ['503 overloaded without Retry-After', new ApiError(503, 'overloaded', 'the service is busy, retry in a moment'), ['room', 'name'], 'form',
      'The server is busy right now. Try again in a moment.'],
    ['503 redis_unavailable: the server\'s words', new ApiError(503, 'redis_unavailable', 'the data store is unavailable'), ['name'], 'form',
      'the data store is unavailable'],
    ['409 room_full', new ApiError(409, 'room_full', 'this room is full'), ['room', 'name'], 'form', 'this room is full'],
    ['network down', new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection.'), ['name'], 'form',
      'Cannot reach the server. Check your connection.'],
    ['no message at all', new ApiError(500, 'http_500', ''), ['name'], 'form', 'Something went wrong. Please try again.'],
    ['a code named like an Object method', new ApiError(400, 'toString', 'odd'), ['name'], 'form', 'odd'],
  ];

  for (const [label, err, kinds, where, text] of ROWS) {
    test(`${label} -> ${where}`, async () => {
      const { field, els, submit } = makeForm(kinds, { send: () => Promise.reject(err) });
      if (kinds.includes('room')) await type(field('room').input, 'ABC123');
      await type(field('name').input, 'Bob');
      await submit();
      assert.ok(isIdle(els.submit), 'the button works again');
      for (const kind of kinds) {
        const f = field(kind);
        if (kind === where) {
          assert.equal(f.error.hidden, false);
          assert.equal(f.error.textContent, text);
          assert.equal(f.input.getAttribute('aria-invalid'), 'true');
          assert.equal(focused, f.input);
        } else {
          assert.equal(f.error.hidden, true, `${kind} has no error`);
        }
      }
      assert.equal(els.formError.hidden, where !== 'form');
      if (where === 'form') assert.equal(els.formError.textContent, text);
    });
  }

  test('a page may claim an error (the name prompt: the room is gone)', async () => {
    const err = new ApiError(404, 'room_not_found', 'room not found');
    const { field, calls, els, submit } = makeForm(['name'], {
      send: () => Promise.reject(err),
      claim: (e) => e.code === 'room_not_found',
    });
    await type(field('name').input, 'Bob');
    await submit();
    assert.deepEqual(calls.claim, [err]);
    assert.equal(els.formError.hidden, true);
    assert.equal(field('name').error.hidden, true);
    assert.ok(isIdle(els.submit));
  });

  test('errors a page does not claim are shown as usual', async () => {
    const { field, calls, submit } = makeForm(['name'], {
      send: () => Promise.reject(new ApiError(409, 'name_taken', 'x', 'userName')),
      claim: (e) => e.code === 'room_not_found',
    });
    await type(field('name').input, 'Bob');
    await submit();
    assert.equal(calls.claim.length, 1);
    assert.equal(field('name').error.textContent, 'Someone in this room already uses that name. Try another one.');
  });

  test('errorTarget and errorText on their own', () => {
    assert.equal(errorTarget({ field: 'userName', code: 'invalid_field' }), 'name');
    assert.equal(errorTarget({ field: null, code: 'name_taken' }), 'name');
    assert.equal(errorTarget({ code: 'invalid_room_id' }), 'room');
    assert.equal(errorTarget({ code: 'room_full' }), 'form');
    assert.equal(errorTarget({ field: 'password', code: 'password_required' }), 'password');
    assert.equal(errorTarget({ field: 'password', code: 'wrong_password' }), 'password');
    assert.equal(errorTarget({ field: null, code: 'room_locked' }), 'form');
    assert.equal(errorText({ status: 403, code: 'room_locked' }), 'This room is locked: a host has closed it to new people.');
    assert.equal(errorText({ status: 403, code: 'banned' }), 'A host has banned you from this room.');
    assert.equal(errorText({ status: 429, code: 'rate_limited', retryAfter: 0 }), 'Too many requests. Please wait a moment.');
  });
});

describe('from the HTTP answer to the sentence (api.js + forms.js)', () => {
  let realFetch;
  let answers;
  let requests;

  beforeEach(() => {
    realFetch = globalThis.fetch;
    answers = [];
    requests = [];
    globalThis.fetch = async (url, init) => {
      requests.push({ url, ...init, body: init.body ? JSON.parse(init.body) : undefined });
      const a = answers.shift();
      return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status, headers: a.headers || {} });
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  const errorBody = (code, message, field = null) => ({ error: { code, message, field } });

  for (const [label, answer, retryAfter, text] of [
    ['nginx 429 (Retry-After: 1)', { status: 429, headers: { 'Retry-After': '1' }, body: errorBody('rate_limited', 'too many requests, slow down') }, 1,
      'Too many requests. Try again in 1 s.'],
    ['worker 429 (Retry-After: 37)', { status: 429, headers: { 'Retry-After': '37' }, body: errorBody('rate_limited', 'too many requests, slow down') }, 37,
      'Too many requests. Try again in 37 s.'],
    ['429 with a Retry-After date (not seconds)', { status: 429, headers: { 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' }, body: errorBody('rate_limited', 'x') }, null,
      'Too many requests. Please wait a moment.'],
    ['nginx 503 overloaded (Retry-After: 1)', { status: 503, headers: { 'Retry-After': '1' }, body: errorBody('overloaded', 'the service is busy, retry in a moment') }, 1,
      'The server is busy right now. Try again in 1 s.'],
    ['409 name_taken', { status: 409, body: errorBody('name_taken', 'that name is already taken in this room', 'userName') }, null,
      'Someone in this room already uses that name. Try another one.'],
    ['404 room_not_found', { status: 404, body: errorBody('room_not_found', 'room not found') }, null,
      'There is no room with that code. Check it and try again.'],
  ]) {
    test(label, async () => {
      answers.push(answer);
      const err = await request('POST', '/api/rooms/ABC123/join', { userName: 'Bob' }).catch((e) => e);
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, answer.status);
      assert.equal(err.retryAfter, retryAfter);
      assert.equal(errorText(err), text);
    });
  }

  test('createRoom and joinRoom send the trimmed name', async () => {
    answers.push({ status: 201, body: { roomId: 'ABC123', userId: 'u1', token: 't', room: {} } });
    answers.push({ status: 201, body: { userId: 'u2', token: 't2', room: {}, chat: [] } });
    const created = await createRoom('  Ann  ');
    const joined = await joinRoom('ABC123', ' Bob ');
    assert.equal(created.roomId, 'ABC123');
    assert.equal(joined.userId, 'u2');
    assert.deepEqual(requests.map((r) => [r.method, r.url, r.body]), [
      ['POST', '/api/rooms', { hostName: 'Ann' }],
      ['POST', '/api/rooms/ABC123/join', { userName: 'Bob' }],
    ]);
  });
});

describe('a field sent, then answered', () => {
  test('is emptied when it still holds what was sent, kept when typed over meanwhile', () => {
    const field = { value: '  https://example.com/a.webm ' };
    clearIfUnchanged(field, 'https://example.com/a.webm');
    assert.equal(field.value, '');
    // The next URL typed while the first was on its way stays (the room's queue form).
    field.value = 'https://example.com/b.webm';
    clearIfUnchanged(field, 'https://example.com/a.webm');
    assert.equal(field.value, 'https://example.com/b.webm');
  });
});
