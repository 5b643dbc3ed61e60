/*
 * Reactions: a button in the player controls opens the 8 emoji; a pick is
 * sent to everyone (POST .../reactions) and every member's reaction floats up
 * over the video for a few seconds, with its sender's name. Users who prefer
 * reduced motion get a static badge instead (css/watch.css).
 *
 *   const r = createReactions(stageEl, controlsEl, { send, notify });
 *   r.show(emoji, name);      // a `reaction` event
 */
import { h } from './dom.js';

export const EMOJI = ['👍', '❤️', '😂', '😮', '😢', '👏', '🔥', '🎉'];
/* How long a reaction stays on screen (the float animation's length). */
export const SHOW_MS = 3000;
/* At most this many on screen at once: a burst from many members stays readable. */
const MAX_SHOWN = 12;

export function createReactions(stage, controls, { send, notify = () => {} }) {
  const layer = h('div', { class: 'wnc-reactions', 'aria-live': 'polite' });
  stage.append(layer);

  const toggle = h('button', { type: 'button', class: 'wnc-video-btn wnc-react-btn', 'aria-label': 'Reactions', 'aria-expanded': 'false' }, '☺');
  const menu = h('div', { class: 'wnc-react-menu', role: 'group', 'aria-label': 'Send a reaction', hidden: true });
  for (const emoji of EMOJI) {
    menu.append(
      h('button', {
        type: 'button',
        class: 'wnc-react-pick',
        'aria-label': `React ${emoji}`,
        on: {
          click: () => {
            setOpen(false);
            Promise.resolve(send(emoji)).catch((err) => {
              notify('error', err && err.status === 429 ? 'Easy there: a few reactions at a time.' : (err && err.message) || 'That did not work.');
            });
          },
        },
      }, emoji),
    );
  }
  const wrap = h('div', { class: 'wnc-react-wrap' }, toggle, menu);
  controls.append(wrap);

  function setOpen(open) {
    menu.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
  }
  toggle.addEventListener('click', () => setOpen(menu.hidden));
  wrap.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      setOpen(false);
      toggle.focus();
    }
  });

  return {
    show(emoji, name) {
      while (layer.childElementCount >= MAX_SHOWN) layer.firstElementChild.remove();
      /* Spread over the width so that a burst does not stack in one column. */
      const left = 10 + Math.random() * 80;
      const el = h('span', { class: 'wnc-reaction' }, h('span', { class: 'wnc-reaction-emoji' }, emoji), h('span', { class: 'wnc-reaction-name' }, name));
      el.style.left = `${left.toFixed(1)}%`; /* CSSOM, which the CSP allows (a style attribute it would not) */
      layer.append(el);
      setTimeout(() => el.remove(), SHOW_MS);
    },
    destroy() {
      layer.remove();
      wrap.remove();
    },
  };
}
