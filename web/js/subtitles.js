/*
 * Subtitles for the current video: the room's track (a WebVTT or SRT URL,
 * docs/api.md) shown with a <track> on the HTML5 player, and the player
 * controls' Subtitles button that turns it on or off for this tab only
 * (remembered in sessionStorage). SRT is converted to WebVTT here, in the
 * browser; the track's server must allow CORS.
 *
 *   const subs = createSubtitles(controlsEl, { notify });
 *   subs.setTrack({url, label, lang} | null);   // the room's track
 *   subs.setMedia(videoElementOrNull);          // the player's <video>, when there is one
 *   subs.destroy();
 */

const STORAGE_KEY = 'wnc-subtitles';
/* Longest track file fetched, in bytes: a film's subtitles are far smaller. */
export const TRACK_MAX_BYTES = 2 * 1024 * 1024;

/*
 * SRT to WebVTT: a header, cue times with '.' for the milliseconds, cue
 * numbers dropped, blank-line separated cues kept. Text is left as is (the
 * browser renders WebVTT cue text, never HTML).
 */
export function srtToVtt(srt) {
  const text = String(srt).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const cues = [];
  for (const block of text.split(/\n{2,}/)) {
    const lines = block.split('\n').filter((l, i, all) => !(i === 0 && /^\d+$/.test(l.trim()) && all.length > 1));
    const timing = /^\s*(\d{1,2}:\d{2}:\d{2})[,.](\d{1,3})\s*-->\s*(\d{1,2}:\d{2}:\d{2})[,.](\d{1,3})(.*)$/.exec(lines[0] || '');
    if (!timing) continue;
    const ms = (x) => x.padEnd(3, '0');
    const pad = (t) => (t.length === 7 ? `0${t}` : t);
    const body = lines.slice(1).join('\n').replace(/\n+$/, '').replace(/-->/g, '->');
    if (!body.trim()) continue;
    cues.push(`${pad(timing[1])}.${ms(timing[2])} --> ${pad(timing[3])}.${ms(timing[4])}${timing[5]}\n${body}`);
  }
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

/* A track file's text as WebVTT, whichever of the two formats it is in. */
export function toVtt(text) {
  return /^\uFEFF?WEBVTT/.test(text) ? text : srtToVtt(text);
}

function wanted() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) !== 'off';
  } catch {
    return true;
  }
}

export function createSubtitles(controls, { notify = () => {} } = {}) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'wnc-video-btn wnc-subtitles-btn';
  button.textContent = 'Subtitles';
  button.hidden = true;
  controls.append(button);

  let track = null; /* the room's {url, label, lang} */
  let media = null;
  let element = null; /* our <track> */
  let blobUrl = null;
  let gen = 0;
  let on = wanted();

  function render() {
    button.hidden = !track || !media;
    button.setAttribute('aria-pressed', String(on));
    button.title = track ? `${track.label} (${track.lang})` : '';
    if (element && element.track) element.track.mode = on ? 'showing' : 'hidden';
  }

  function detach() {
    gen++;
    if (element) element.remove();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    element = null;
    blobUrl = null;
  }

  /* Fetches the track and adds it to the <video> as WebVTT from a blob: URL. */
  async function attach() {
    detach();
    if (!track || !media) return render();
    const mine = ++gen;
    const { url, label, lang } = track;
    let text;
    try {
      const res = await fetch(url, { mode: 'cors', credentials: 'omit' });
      if (!res.ok) throw new Error(String(res.status));
      text = await res.text();
      if (text.length > TRACK_MAX_BYTES) throw new Error('too large');
    } catch {
      if (mine === gen) notify('error', 'The subtitles could not be loaded.');
      return;
    }
    if (mine !== gen || !media) return;
    blobUrl = URL.createObjectURL(new Blob([toVtt(text)], { type: 'text/vtt' }));
    element = document.createElement('track');
    element.kind = 'subtitles';
    element.label = label;
    element.srclang = lang;
    element.src = blobUrl;
    element.default = true;
    media.append(element);
    render();
  }

  button.addEventListener('click', () => {
    on = !on;
    try {
      sessionStorage.setItem(STORAGE_KEY, on ? 'on' : 'off');
    } catch {
      /* Storage may be off; the choice then lasts as long as the page. */
    }
    render();
  });

  return {
    setTrack(t) {
      const same = JSON.stringify(t || null) === JSON.stringify(track);
      track = t || null;
      if (!same) attach();
      else render();
    },
    setMedia(el) {
      const next = el instanceof HTMLVideoElement ? el : null;
      if (next === media) return;
      media = next;
      attach();
    },
    destroy() {
      detach();
      button.remove();
    },
  };
}
