/*
 * The chat panel: history plus live messages (deduplicated by id and kept in
 * id order), own messages marked, auto-scroll unless the reader scrolled up,
 * Enter to send, a counter near the 1000-character limit, and the typing
 * indicator in both directions. All text goes in through textContent.
 */
import { h, formatTime } from './dom.js';
import { CHAT_COUNTER_FROM, CHAT_MAX, chatLength } from './validate.js';

const TYPING_RESEND_MS = 3000; /* Below the server's 5 s typing TTL. */
const TYPING_IDLE_MS = 4000;
const TYPING_SHOW_MS = 6500; /* Drop a remote "typing" we stopped hearing about. */
const NEAR_BOTTOM_PX = 48;
const MAX_KEPT = 500;

/** The typing sentence for a list of names: "", "X is typing", "N people are typing". */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing`;
  return `${names.length} people are typing`;
}

/**
 * els: {list, empty, jump, typing, form, input, send, counter, error}.
 * opts: {meId, sendMessage(text) => Promise<message>, sendTyping(bool) => Promise,
 *        onIncoming(message) called for new messages from others}.
 */
export function createChat(els, opts) {
  const messages = new Map(); /* id -> {message, li} */
  const typers = new Map(); /* userId -> {name, timer} */
  let typingSent = false;
  let typingSentAt = 0;
  let idleTimer = null;

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
    return h('li', { class: own ? 'msg msg-own' : 'msg', dataset: { id: String(m.id) } },
      h('div', { class: 'msg-head' },
        h('span', { class: 'msg-author', text: own ? `${m.userName} (you)` : m.userName }),
        time),
      h('p', { class: 'msg-text', text: m.text }));
  }

  function valid(m) {
    return m && typeof m.id === 'number' && typeof m.text === 'string' && typeof m.userName === 'string';
  }

  /* Inserts without scrolling decisions; returns true when it was new. */
  function insert(m) {
    if (!valid(m) || messages.has(m.id)) return false;
    const li = renderMessage(m);
    let before = null;
    for (const child of els.list.children) {
      if (Number(child.dataset.id) > m.id) {
        before = child;
        break;
      }
    }
    els.list.insertBefore(li, before);
    messages.set(m.id, { message: m, li });
    if (messages.size > MAX_KEPT) {
      const oldest = Math.min(...messages.keys());
      messages.get(oldest).li.remove();
      messages.delete(oldest);
    }
    els.empty.hidden = true;
    return true;
  }

  /** Adds one message (live event or own send). */
  function add(m) {
    const stick = nearBottom();
    if (!insert(m)) return;
    clearTyper(m.userId);
    const own = m.userId === opts.meId;
    if (stick || own) scrollToBottom();
    else els.jump.hidden = false;
    if (!own && opts.onIncoming) opts.onIncoming(m);
  }

  /** Merges a history list (oldest first) into what is shown. */
  function merge(list) {
    if (!Array.isArray(list)) return;
    const stick = nearBottom() || messages.size === 0;
    let added = false;
    for (const m of list) added = insert(m) || added;
    if (added && stick) scrollToBottom();
  }

  els.list.addEventListener('scroll', () => {
    if (nearBottom()) els.jump.hidden = true;
  });
  els.jump.addEventListener('click', () => {
    scrollToBottom();
    els.input.focus();
  });

  /* ---- typing, received ---- */

  function renderTyping() {
    els.typing.textContent = typingText([...typers.values()].map((t) => t.name));
  }

  function clearTyper(userId) {
    const t = typers.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    typers.delete(userId);
    renderTyping();
  }

  function typing(data) {
    if (!data || typeof data.userId !== 'string' || data.userId === opts.meId) return;
    clearTyper(data.userId);
    if (data.typing) {
      const timer = setTimeout(() => clearTyper(data.userId), TYPING_SHOW_MS);
      typers.set(data.userId, { name: String(data.userName || 'Someone'), timer });
      renderTyping();
    }
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
        const res = await opts.sendMessage(text);
        if (res && res.message) add(res.message);
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
    add,
    merge,
    typing,
    clearTyper,
    setEnabled(on) {
      els.input.disabled = !on;
      els.send.disabled = !on || chatLength(els.input.value) === 0;
    },
    scrollToBottom,
    destroy() {
      clearTimeout(idleTimer);
      for (const t of typers.values()) clearTimeout(t.timer);
      typers.clear();
    },
  };
}
