/*
 * The "Up next" list under the player: the room's queue (docs/api.md), each
 * item with its title, who added it, Remove (a host, or whoever added it) and
 * for hosts move up/down; hosts also get "Play next", which plays the first
 * item now. Every change comes back as queue.updated through render().
 *
 *   const q = createQueuePanel(containerEl, { api, notify });
 *   q.render({ queue, users, meId, isHost, titles });   // titles: YouTube videoId -> title
 */
import { h } from './dom.js';

/*
 * What to call an item: the server has no titles. A YouTube video by the title its player
 * told this tab (titles: videoId -> title), else by its id; a file by its name.
 */
export function itemTitle(item, titles = new Map()) {
  if (item.title) return item.title;
  if (item.kind === 'youtube' && titles.has(item.videoId)) return titles.get(item.videoId);
  if (item.kind === 'youtube' && item.videoId) return `YouTube video ${item.videoId}`;
  try {
    const u = new URL(item.url);
    const name = decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() || '');
    return name || u.host;
  } catch {
    return item.url;
  }
}

export function createQueuePanel(container, { api, notify = () => {} }) {
  const list = h('ol', { class: 'queue-list', 'aria-labelledby': 'queue-title' });
  const empty = h('p', { class: 'queue-empty muted' }, 'Nothing queued. Add a video with “Add to queue”.');
  const playNext = h('button', { type: 'button', class: 'btn btn-small btn-secondary queue-play-next' }, 'Play next');
  const head = h('div', { class: 'queue-head' }, h('h2', { id: 'queue-title', class: 'panel-title' }, 'Up next'), playNext);
  container.replaceChildren(head, list, empty);

  let last = { queue: [], users: [], meId: null, isHost: false, titles: new Map() };

  async function act(method, rest, body) {
    try {
      await api(method, rest, body);
    } catch (err) {
      notify('error', (err && err.message) || 'That did not work.');
    }
  }

  playNext.addEventListener('click', () => act('POST', '/video/next'));

  function row(item, i, { queue, users, meId, isHost, titles }) {
    const adder = users.find((u) => u.id === item.addedBy);
    const title = itemTitle(item, titles);
    const buttons = [];
    if (isHost) {
      buttons.push(
        h('button', { type: 'button', class: 'icon-btn icon-btn-small', 'aria-label': `Move ${title} up`, disabled: i === 0, on: { click: () => act('POST', `/queue/${item.id}/move`, { index: i - 1 }) } }, '↑'),
        h('button', { type: 'button', class: 'icon-btn icon-btn-small', 'aria-label': `Move ${title} down`, disabled: i === queue.length - 1, on: { click: () => act('POST', `/queue/${item.id}/move`, { index: i + 1 }) } }, '↓'),
      );
    }
    if (isHost || item.addedBy === meId) {
      buttons.push(h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': `Remove ${title}`, on: { click: () => act('DELETE', `/queue/${item.id}`) } }, 'Remove'));
    }
    return h(
      'li',
      { class: 'queue-item', 'data-item': String(item.id) },
      h('span', { class: 'queue-pos', 'aria-hidden': 'true' }, String(i + 1)),
      h('span', { class: 'queue-text' }, h('span', { class: 'queue-title', title: item.url }, title), h('span', { class: 'queue-by muted' }, `added by ${adder ? adder.name : 'someone who left'}`)),
      h('span', { class: 'queue-actions' }, ...buttons),
    );
  }

  return {
    render(next) {
      last = { ...last, ...next };
      const { queue, isHost } = last;
      list.replaceChildren(...queue.map((item, i) => row(item, i, last)));
      empty.hidden = queue.length > 0;
      playNext.hidden = !isHost;
      playNext.disabled = queue.length === 0;
    },
  };
}
