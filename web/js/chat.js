/*
 * The chat panel as a view: it shows the room state's messages (already unique
 * and in id order, see room-state.js) and typing names, keeps own messages
 * marked, auto-scrolls unless the reader scrolled up, sends with Enter, shows
 * a counter near the 1000-character limit, and tells the server when this
 * user types. A message has a Delete action for its author (and for hosts,
 * every message); a deleted one reads "message deleted". A muted member sees
 * "You are muted" instead of the input. All text goes in through textContent.
 */
import { h, formatTime } from './dom.js';
import { CHAT_COUNTER_FROM, CHAT_MAX, chatLength } from './validate.js';

const TYPING_RESEND_MS = 3000; /* Below the server's 5 s typing TTL. */
const TYPING_IDLE_MS = 4000;
const NEAR_BOTTOM_PX = 48;

/** The typing sentence for a list of names: "", "X is typing", "N people are typing". */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing`;
  return `${names.length} people are typing`;
}

/**
 * els: {list, empty, jump, typing, form, input, send, counter, error, muted}.
 * opts: {meId, sendMessage(text) => Promise (the page puts the answer into the state),
 *        sendTyping(bool) => Promise, onIncoming(message) called for new live messages from others,
 *        onDelete(message) the Delete action}.
 * Returns {render(messages, {live}), showTyping(names), setEnabled(on), setMuted(on),
 * setCanDeleteAll(on), scrollToBottom(), destroy()}.
 */
export function createChat(els, opts) {
  const shown = new Map(); /* id -> li, what the list shows */
  let typingSent = false;
  let typingSentAt = 0;
  let idleTimer = null;
  let canDeleteAll = false;

  /* ---- message list ---- */

  function nearBottom() {
    const l = els.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    els.list.scrollTop = els.list.scrollHeight;
    els.jump.hidden = true;
  }

  function renderMessage(m) {
    const own = m.userId === opts.meId;
    const time = h('time', { class: 'msg-time', datetime: new Date(m.ts).toISOString() }, formatTime(m.ts));
    const del = m.deleted
      ? null
      : h('button', { type: 'button', class: 'btn btn-tiny btn-ghost msg-delete', hidden: !own && !canDeleteAll, on: { click: () => opts.onDelete(m) } }, 'Delete');
    return h('li', { class: `msg${own ? ' msg-own' : ''}${m.deleted ? ' msg-deleted' : ''}`, dataset: { id: String(m.id), own: String(own) } },
      h('div', { class: 'msg-head' },
        h('span', { class: 'msg-author', text: own ? `${m.userName} (you)` : m.userName }),
        time, del),
      h('p', { class: 'msg-text', text: m.deleted ? 'message deleted' : m.text }));
  }

  /* Puts m's row in id order; the list holds only what `shown` knows. */
  function insert(m) {
    const li = renderMessage(m);
    let before = null;
    for (const child of els.list.children) {
      if (Number(child.dataset.id) > m.id) {
        before = child;
        break;
      }
    }
    els.list.insertBefore(li, before);
    shown.set(m.id, li);
  }

  /**
   * Shows exactly `messages` (unique, id order). live: they came one by one as they were
   * sent (an event or our own send): follow them down when the reader is at the bottom or
   * it is our own, else offer "New messages"; otherwise they are history (join, refetch):
   * scroll only when the reader was at the bottom or nothing was shown yet.
   */
  function render(messages, { live = false } = {}) {
    const stick = nearBottom() || (!live && shown.size === 0);
    const ids = new Set(messages.map((m) => m.id));
    for (const [id, li] of shown) {
      if (!ids.has(id)) {
        li.remove();
        shown.delete(id);
      }
    }
    /* A message deleted since it was shown: its row becomes "message deleted". */
    for (const m of messages) {
      const li = shown.get(m.id);
      if (li && m.deleted && !li.classList.contains('msg-deleted')) {
        const row = renderMessage(m);
        li.replaceWith(row);
        shown.set(m.id, row);
      }
    }
    const added = messages.filter((m) => !shown.has(m.id));
    for (const m of added) insert(m);
    if (shown.size > 0) els.empty.hidden = true;
    if (!added.length) return;
    if (!live) {
      if (stick) scrollToBottom();
      return;
    }
    for (const m of added) {
      const own = m.userId === opts.meId;
      if (stick || own) scrollToBottom();
      else els.jump.hidden = false;
      if (!own && opts.onIncoming) opts.onIncoming(m);
    }
  }

  els.list.addEventListener('scroll', () => {
    if (nearBottom()) els.jump.hidden = true;
  });
  els.jump.addEventListener('click', () => {
    scrollToBottom();
    els.input.focus();
  });

  /* ---- typing, received ---- */

  function showTyping(names) {
    const text = typingText(names);
    if (els.typing.textContent !== text) els.typing.textContent = text;
  }

  /* ---- typing, sent ---- */

  function sendTyping(on) {
    typingSent = on;
    typingSentAt = on ? Date.now() : 0;
    opts.sendTyping(on).catch(() => {
      /* Typing is best effort. */
    });
  }

  function stopTyping() {
    clearTimeout(idleTimer);
    if (typingSent) sendTyping(false);
  }

  /* ---- input ---- */

  function updateInput() {
    const len = chatLength(els.input.value);
    els.send.disabled = len === 0;
    const raw = [...els.input.value].length;
    if (raw >= CHAT_COUNTER_FROM) {
      els.counter.hidden = false;
      els.counter.textContent = `${raw} / ${CHAT_MAX}`;
      els.counter.classList.toggle('at-limit', raw >= CHAT_MAX);
    } else {
      els.counter.hidden = true;
    }
    /* Grow with the text, up to the CSS max-height. */
    els.input.style.height = 'auto';
    els.input.style.height = `${els.input.scrollHeight}px`;
  }

  function showError(text) {
    els.error.textContent = text || '';
    els.error.hidden = !text;
  }

  els.input.addEventListener('input', () => {
    updateInput();
    showError(null);
    if (chatLength(els.input.value) === 0) {
      stopTyping();
      return;
    }
    if (!typingSent || Date.now() - typingSentAt > TYPING_RESEND_MS) sendTyping(true);
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  els.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      els.form.requestSubmit();
    }
  });

  /* Sends go out one after another, in order; typing more while one is in flight is fine. */
  let queue = Promise.resolve();

  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = els.input.value.trim();
    const len = chatLength(text);
    if (len === 0) return;
    if (len > CHAT_MAX) {
      showError(`A message can have at most ${CHAT_MAX} characters.`);
      return;
    }
    els.input.value = '';
    updateInput();
    showError(null);
    clearTimeout(idleTimer);
    if (typingSent) sendTyping(false);
    els.input.focus();
    queue = queue.then(async () => {
      try {
        await opts.sendMessage(text);
      } catch (err) {
        showError(err.message || 'Your message was not sent.');
        /* Give the text back so nothing typed is lost. */
        if (els.input.value === '') {
          els.input.value = text;
          updateInput();
        }
      }
    });
  });

  updateInput();

  return {
    render,
    showTyping,
    setEnabled(on) {
      els.input.disabled = !on;
      els.send.disabled = !on || chatLength(els.input.value) === 0;
    },
    setMuted(on) {
      els.form.hidden = on;
      els.muted.hidden = !on;
      if (on) stopTyping();
    },
    setCanDeleteAll(on) {
      canDeleteAll = on;
      for (const li of shown.values()) {
        const btn = li.querySelector('.msg-delete');
        if (btn) btn.hidden = !on && li.dataset.own !== 'true';
      }
    },
    scrollToBottom,
    destroy() {
      clearTimeout(idleTimer);
    },
  };
}
