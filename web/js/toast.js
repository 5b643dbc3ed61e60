/*
 * Toasts: short notices in a live region. Info toasts are announced politely,
 * error toasts assertively; both disappear by themselves and can be closed.
 */
import { h } from './dom.js';

const SHOW_MS = { info: 4000, error: 7000 };
const MAX_VISIBLE = 4;

let region = null;

function ensureRegion() {
  if (region && region.isConnected) return region;
  region = h('div', { class: 'toasts', id: 'toasts' },
    h('div', { class: 'toasts-polite', 'aria-live': 'polite', role: 'status' }),
    h('div', { class: 'toasts-assertive', 'aria-live': 'assertive', role: 'alert' }));
  document.body.append(region);
  return region;
}

/** Shows a toast. kind: 'info' | 'error'; text is shown as plain text. */
export function toast(kind, text) {
  const root = ensureRegion();
  const isError = kind === 'error';
  const list = root.querySelector(isError ? '.toasts-assertive' : '.toasts-polite');
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: `toast toast-${isError ? 'error' : 'info'}` },
    h('span', { class: 'toast-text', text: String(text) }), close);
  const remove = () => {
    clearTimeout(timer);
    item.remove();
  };
  close.addEventListener('click', remove);
  const timer = setTimeout(remove, SHOW_MS[isError ? 'error' : 'info']);
  list.append(item);
  const all = root.querySelectorAll('.toast');
  if (all.length > MAX_VISIBLE) all[0].remove();
}
