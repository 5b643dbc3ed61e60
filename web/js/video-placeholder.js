/*
 * Stand-in for video-area.js while that module is missing or fails to load:
 * the same interface, showing the room's video state as text only.
 */
import { h } from './dom.js';

export function createPlaceholderArea(container, { isHost }) {
  let host = Boolean(isHost);
  let video = null;
  const box = h('div', { class: 'video-placeholder' });
  container.append(box);

  function render() {
    const lines = [];
    if (!video) {
      lines.push(h('p', { class: 'placeholder-title' }, host ? 'The video player could not be loaded.' : 'Waiting for the host to pick a video'));
    } else {
      lines.push(h('p', { class: 'placeholder-title' }, video.playing ? 'Now playing' : 'Paused'));
      lines.push(h('p', { class: 'placeholder-url', text: String(video.url || '') }));
    }
    if (host) lines.push(h('p', { class: 'muted' }, 'Reload the page to try loading the player again.'));
    box.replaceChildren(...lines);
  }
  render();

  return {
    setVideo(v) {
      video = v || null;
      render();
    },
    setHost(b) {
      host = Boolean(b);
      render();
    },
    setPermissions(can) {
      host = Boolean(can.control || can.video);
      render();
    },
    destroy() {
      box.remove();
    },
  };
}
