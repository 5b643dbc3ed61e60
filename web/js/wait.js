/*
 * Wait for everyone, the player's side (docs/api.md): this tab reports when
 * its player is buffering while the room plays, and when it is ready again;
 * the video area shows whom the room waits for ("Waiting for Bob…") and the
 * 3-2-1 countdown of a scheduled start.
 *
 *   const reporter = createBufferingReporter(send);   // send(buffering, position) -> Promise
 *   reporter.update({ stalled, ready, position });     // every UI tick
 *   const overlay = createWaitOverlay(stageEl);
 *   overlay.render({ names: ['Bob'], startsInMs });     // names: [] when not waiting
 */

/*
 * What the player's status says for the report. stalled: the room plays (its
 * scheduled start, if any, has come) and the player cannot follow (buffering,
 * or still loading the media). ready: it can play from where the room is.
 */
export function bufferingState({ video, status, readyToPlay, startsInMs }) {
  if (!video) return { stalled: false, ready: true };
  const started = video.playing && !(startsInMs > 0);
  const stalled = started && (status === 'buffering' || status === 'loading');
  const ready = video.playing ? !stalled && (status === 'playing' || status === 'syncing' || startsInMs > 0) : readyToPlay;
  return { stalled, ready };
}

/* Sends a report on each change only: true when stalled, false once ready again. */
export function createBufferingReporter(send) {
  let sent = false;
  let busy = false;
  return {
    update({ stalled, ready, position }) {
      if (busy) return;
      const want = sent ? !ready : stalled;
      if (want === sent) return;
      busy = true;
      Promise.resolve(send(want, position))
        .then(() => {
          sent = want;
        })
        .catch(() => {
          /* Rate-limited or offline: the next tick tries again. */
        })
        .finally(() => {
          busy = false;
        });
    },
    /* A new video: this tab's reports start over (the server forgot them too). */
    reset() {
      sent = false;
    },
  };
}

/* "Bob", "Bob and Carol", "Bob, Carol and 2 others". */
export function waitingText(names) {
  if (!names.length) return '';
  if (names.length === 1) return `Waiting for ${names[0]}…`;
  if (names.length === 2) return `Waiting for ${names[0]} and ${names[1]}…`;
  return `Waiting for ${names[0]}, ${names[1]} and ${names.length - 2} other${names.length > 3 ? 's' : ''}…`;
}

export function createWaitOverlay(stage) {
  const box = document.createElement('div');
  box.className = 'wnc-wait';
  box.setAttribute('role', 'status');
  box.hidden = true;
  const text = document.createElement('p');
  text.className = 'wnc-wait-text';
  const count = document.createElement('p');
  count.className = 'wnc-wait-count';
  count.setAttribute('aria-live', 'off');
  box.append(text, count);
  stage.append(box);
  return {
    render({ names = [], startsInMs = 0 }) {
      const waiting = waitingText(names);
      const secs = startsInMs > 0 ? Math.ceil(startsInMs / 1000) : 0;
      text.textContent = waiting || (secs ? 'Starting together' : '');
      const c = secs ? String(secs) : '';
      if (count.textContent !== c) count.textContent = c;
      box.hidden = !waiting && !secs;
    },
    destroy() {
      box.remove();
    },
  };
}
