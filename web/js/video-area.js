/*
 * The room's video area: the player, the sync engine, the host's controls.
 *
 *   const area = createVideoArea(containerEl, { roomId, request, isHost, notify, onTitle });
 *     onTitle(videoId, title): a YouTube video's title, once its player knows it
 *   area.setVideo(videoOrNull);   // room.video, then every video.* event's data.video
 *   area.setHost(bool);  area.setPermissions({control, video}) (guests a host allowed);
 *   area.setWatch({ subtitles, waitingNames });   // the room's track, whom it waits for
 *   area.stage, area.controls     // the elements reactions.js adds to
 *   area.destroy();
 *
 * The player obeys the authoritative state only. A host's click sends a
 * request; the answer (and the matching event) comes back through setVideo
 * like everybody else's, so the host's player follows the same rule as the
 * guests' (DESIGN §5). Watching together: the host's Add to queue and
 * Subtitles URL, the player's end and buffering reports (auto-advance, wait
 * for everyone), the waiting overlay and countdown of a scheduled start.
 */
import { ServerClock } from './sync/clock.js';
import { clearIfUnchanged } from './dom.js';
import { SyncEngine } from './sync/engine.js';
import { sameMedia, stateKey } from './sync/expected.js';
import { createPlayer } from './player/player.js';
import { createSubtitles } from './subtitles.js';
import { bufferingState, createBufferingReporter, createWaitOverlay } from './wait.js';

/* Longest URL the server accepts (DESIGN §3), in bytes. */
export const VIDEO_URL_MAX_BYTES = 2048;
/* How often the time display and scrub bar are refreshed. */
const UI_REFRESH_MS = 250;
/* How long the "only hosts" note stays. */
const NOTE_MS = 3500;
const RATES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];

let uid = 0;

/* document.createElement with a class, attributes and text. */
function el(tag, cls, attrs = {}, text = '') {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/* Seconds as m:ss or h:mm:ss. */
export function formatClock(s) {
  if (!Number.isFinite(s) || s < 0) s = 0;
  const t = Math.floor(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/* Client-side check of a video URL; returns an error message or null. */
export function checkVideoUrl(url) {
  if (!url) return 'Enter the address of a video.';
  if (new TextEncoder().encode(url).length > VIDEO_URL_MAX_BYTES) return 'That address is too long.';
  let u;
  try {
    u = new URL(url);
  } catch {
    return 'That is not a valid address.';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'Only http:// and https:// addresses work.';
  return null;
}

export function createVideoArea(container, { roomId, request, isHost = false, notify = () => {}, onTitle = () => {} }) {
  const id = `wnc-video-${++uid}`;
  const api = (method, rest, body) => request(method, `/api/rooms/${encodeURIComponent(roomId)}${rest}`, body);

  /* --- DOM --- */
  const root = el('div', 'wnc-video');
  root.dataset.status = 'idle';
  const stage = el('div', 'wnc-video-stage');
  const mediaBox = el('div', 'wnc-video-media-box');
  const placeholder = el('div', 'wnc-video-placeholder');
  const placeholderText = el('p', 'wnc-video-placeholder-text');
  placeholder.append(placeholderText);
  const message = el('div', 'wnc-video-message', { role: 'alert' });
  message.hidden = true;
  const buffering = el('div', 'wnc-video-buffering', { role: 'status' });
  const bufferingText = el('span', 'wnc-video-buffering-text', {}, 'Buffering…');
  buffering.append(el('span', 'wnc-video-spinner', { 'aria-hidden': 'true' }), bufferingText);
  buffering.hidden = true;
  const joinBtn = el('button', 'wnc-video-join', { type: 'button' }, 'Click to join playback');
  joinBtn.hidden = true;
  const guard = el('div', 'wnc-video-guard', { 'aria-hidden': 'true' });
  stage.append(mediaBox, placeholder, guard, buffering, message, joinBtn);

  const controls = el('div', 'wnc-video-controls');
  const playBtn = el('button', 'wnc-video-btn wnc-video-play', { type: 'button', 'aria-label': 'Play' });
  playBtn.append(el('span', 'wnc-video-icon', { 'aria-hidden': 'true' }));
  const timeNow = el('span', 'wnc-video-time', { 'aria-hidden': 'true' }, '0:00');
  const scrub = el('input', 'wnc-video-scrub', { type: 'range', min: '0', max: '0', step: '0.1', value: '0', 'aria-label': 'Seek' });
  const timeDur = el('span', 'wnc-video-time wnc-video-duration', { 'aria-hidden': 'true' }, '0:00');
  const rateSel = el('select', 'wnc-video-rate', { 'aria-label': 'Playback speed' });
  for (const r of RATES) rateSel.append(el('option', '', { value: String(r) }, `${r}×`));
  rateSel.value = '1';
  const muteBtn = el('button', 'wnc-video-btn wnc-video-mute', { type: 'button', 'aria-label': 'Mute', 'aria-pressed': 'false' });
  muteBtn.append(el('span', 'wnc-video-icon', { 'aria-hidden': 'true' }));
  const fsBtn = el('button', 'wnc-video-btn wnc-video-fullscreen', { type: 'button', 'aria-label': 'Full screen' });
  fsBtn.append(el('span', 'wnc-video-icon', { 'aria-hidden': 'true' }));
  controls.append(playBtn, timeNow, scrub, timeDur, rateSel, muteBtn, fsBtn);

  const note = el('p', 'wnc-video-note', { role: 'status', 'aria-live': 'polite' });
  note.hidden = true;

  const form = el('form', 'wnc-video-form', { novalidate: '' });
  const urlLabel = el('label', 'wnc-video-label', { for: `${id}-url` }, 'Video URL');
  const urlRow = el('div', 'wnc-video-url-row');
  const urlInput = el('input', 'wnc-video-url', {
    id: `${id}-url`,
    type: 'url',
    inputmode: 'url',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'https://… (YouTube, .m3u8 or a video file)',
    'aria-describedby': `${id}-url-error`,
  });
  const setBtn = el('button', 'wnc-video-set btn btn-primary', { type: 'submit' }, 'Set video');
  const queueBtn = el('button', 'wnc-video-queue btn btn-secondary', { type: 'button' }, 'Add to queue');
  urlRow.append(urlInput, setBtn, queueBtn);
  const urlError = el('p', 'wnc-video-url-error field-error', { id: `${id}-url-error` });
  urlError.hidden = true;
  form.append(urlLabel, urlRow, urlError);

  const subsForm = el('form', 'wnc-subs-form', { novalidate: '' });
  const subsField = (cls, label, attrs) => {
    const wrap = el('label', cls, {}, label);
    const input = el('input', '', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
    wrap.append(input);
    subsForm.append(wrap);
    return input;
  };
  const subsUrl = subsField('wnc-subs-url', 'Subtitles URL', { type: 'url', inputmode: 'url', placeholder: 'https://… (.vtt or .srt)' });
  const subsLabel = subsField('wnc-subs-label', 'Label', { maxlength: '50', value: 'Subtitles' });
  const subsLang = subsField('wnc-subs-lang', 'Language', { maxlength: '35', value: (navigator.language || 'en').slice(0, 35) });
  const subsSet = el('button', 'btn btn-secondary', { type: 'submit' }, 'Set subtitles');
  const subsClear = el('button', 'btn btn-ghost', { type: 'button' }, 'Remove subtitles');
  subsForm.append(subsSet, subsClear);

  const info = el('p', 'wnc-video-info', { 'aria-live': 'off' });
  root.append(stage, controls, note, form, subsForm, info);
  container.append(root);

  /* --- state --- */
  /* What this member may do: control playback, pick the video (hosts both; guests when the
   * room's settings allow it). */
  let control = !!isHost;
  let pick = !!isHost;
  let video = null; /* the latest authoritative state */
  let player = null;
  let engine = null;
  let loading = null; /* {video} while createPlayer runs */
  let loadGen = 0;
  let loadError = null;
  let scrubbing = false;
  let noteTimer = null;
  let destroyed = false;
  let muted = false;
  let track = null; /* the room's subtitles */
  let waitingNames = [];
  let endedKey = null; /* the state whose end this tab reported */

  const subs = createSubtitles(controls, { notify });
  const waitOverlay = createWaitOverlay(stage);
  const reporter = createBufferingReporter((buffering, pos) => api('POST', '/buffering', { buffering, position: pos }));

  const clock = new ServerClock({
    /* Plain fetch, not request(): the arrival time is taken before the body is parsed. */
    fetchServerTime: async () => {
      const res = await fetch('/api/time', { cache: 'no-store', headers: { Accept: 'application/json' } });
      const receivedAt = performance.now();
      if (!res.ok) throw new Error(`/api/time answered ${res.status}`);
      const r = await res.json();
      if (!r || !Number.isFinite(r.now)) throw new Error('bad /api/time answer');
      return { now: r.now, receivedAt };
    },
  });
  clock.start();

  /* --- rendering --- */
  function render() {
    root.classList.toggle('is-host', control);
    root.classList.toggle('has-video', !!video);
    form.hidden = !pick;
    subsForm.hidden = !pick || !video || video.kind === 'youtube';
    subsClear.hidden = !track;
    subs.setTrack(track);
    setBtn.textContent = video ? 'Change video' : 'Set video';
    if (!video) {
      placeholder.hidden = false;
      placeholderText.textContent = pick ? 'Paste a video address below and press “Set video”.' : 'Waiting for the host to pick a video';
    } else {
      placeholder.hidden = !!player || !!loadError;
      if (!player && !loadError) placeholderText.textContent = 'Loading video…';
    }
    message.hidden = !loadError;
    message.textContent = loadError || '';
    const status = engine ? engine.status : loadError ? 'error' : video ? 'loading' : 'idle';
    root.dataset.status = status;
    joinBtn.hidden = status !== 'blocked';
    buffering.hidden = !(video && video.playing && !loadError && (status === 'buffering' || status === 'syncing' || (status === 'loading' && player)));
    bufferingText.textContent = status === 'syncing' ? 'Syncing…' : 'Buffering…';
    const playing = !!(video && video.playing);
    playBtn.classList.toggle('is-playing', playing);
    playBtn.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    for (const c of [playBtn, scrub, rateSel]) c.setAttribute('aria-disabled', String(!control || !video));
    controls.classList.toggle('is-disabled', !video);
    if (video && document.activeElement !== rateSel) rateSel.value = String(video.rate);
    if (video && !RATES.includes(video.rate)) {
      if (![...rateSel.options].some((o) => o.value === String(video.rate))) rateSel.append(el('option', '', { value: String(video.rate) }, `${video.rate}×`));
      rateSel.value = String(video.rate);
    }
    muteBtn.classList.toggle('is-muted', muted);
    muteBtn.setAttribute('aria-pressed', String(muted));
    muteBtn.setAttribute('aria-label', muted ? 'Unmute' : 'Mute');
    refreshTime();
  }

  /* Milliseconds until a scheduled start (0: none, or begun). */
  function startsIn() {
    return video && video.playing && clock.synced !== false ? Math.max(0, video.updatedAt - clock.now()) : 0;
  }

  /* Each UI tick: the waiting overlay, this tab's buffering report, and its end report. */
  function watchTick() {
    const status = engine ? engine.status : video ? 'loading' : 'idle';
    const ahead = startsIn();
    waitOverlay.render({ names: waitingNames, startsInMs: ahead });
    if (!video) return;
    /* A YouTube title, for the Up next list (the server knows none). */
    if (player && player.title && video.videoId) onTitle(video.videoId, player.title);
    const state = bufferingState({ video, status, readyToPlay: !!(player && player.readyToPlay && !player.seeking), startsInMs: ahead });
    reporter.update({ ...state, position: Math.max(0, position()) });
    /* The end of the video playing: the first report makes the room play the next queue item. */
    if (status === 'ended' && video.playing && endedKey !== stateKey(video)) {
      endedKey = stateKey(video);
      api('POST', '/video/ended', { url: video.url }).catch(() => {});
    }
  }

  function refreshTime() {
    watchTick();
    if (!video) {
      timeNow.textContent = '0:00';
      timeDur.textContent = '0:00';
      scrub.max = '0';
      scrub.value = '0';
      info.textContent = '';
      return;
    }
    const dur = player ? player.duration : NaN;
    const pos = engine ? engine.expected() : video.position;
    timeNow.textContent = formatClock(pos);
    timeDur.textContent = Number.isFinite(dur) ? formatClock(dur) : '–:––';
    if (!scrubbing) {
      scrub.max = String(Number.isFinite(dur) ? dur : Math.max(pos, 1));
      scrub.value = String(pos);
    }
    scrub.setAttribute('aria-valuetext', `${formatClock(pos)} of ${Number.isFinite(dur) ? formatClock(dur) : 'unknown'}`);
    if (engine && engine.status === 'playing' && Number.isFinite(engine.lastError)) {
      info.textContent = `In sync with the room: ${Math.round(Math.abs(engine.lastError) * 1000)} ms`;
    } else info.textContent = '';
  }

  function showNote(text) {
    note.textContent = text;
    note.hidden = false;
    if (noteTimer) clearTimeout(noteTimer);
    noteTimer = setTimeout(() => {
      note.hidden = true;
    }, NOTE_MS);
  }

  /* --- player lifecycle --- */
  /* What the engine learned about this browser (seek time, start latency) outlives its player:
   * the next video, often a scheduled start, begins with it. */
  let learned = {};

  function dropPlayer() {
    loadGen++;
    loading = null;
    if (engine) {
      learned = { seekMsGuess: engine.seekMs, startLatency: engine.startLatency };
      engine.destroy();
    }
    if (player) player.destroy();
    engine = null;
    player = null;
    subs.setMedia(null);
  }

  async function loadMedia(v) {
    dropPlayer();
    loadError = null;
    const gen = loadGen;
    loading = { video: v };
    render();
    let p;
    try {
      p = await createPlayer(mediaBox, v);
    } catch (err) {
      if (gen !== loadGen || destroyed) return;
      loading = null;
      loadError = err && err.message ? err.message : 'The video could not be loaded.';
      notify('error', loadError);
      render();
      return;
    }
    if (gen !== loadGen || destroyed) {
      p.destroy();
      return;
    }
    loading = null;
    player = p;
    if (muted) player.setMuted(true);
    engine = new SyncEngine({ player, clock, onStatus: render, opts: learned });
    subs.setMedia(player.element);
    player.on('error', (err) => notify('error', err && err.message ? err.message : 'Playback error.'));
    engine.setState(video);
    render();
  }

  function setVideo(v) {
    if (destroyed) return;
    const prev = video;
    video = v || null;
    if (!video) {
      dropPlayer();
      loadError = null;
    } else {
      const current = player ? player.video : loading ? loading.video : prev;
      /* After a failed load, any new state for the same media is another try. */
      const retry = loadError && stateKey(prev) !== stateKey(video);
      const sameAsLoaded = current && sameMedia(current, video) && (player || loading || (loadError && !retry));
      if (!sameAsLoaded) {
        reporter.reset();
        loadMedia(video);
      }
      else if (engine) engine.setState(video);
    }
    render();
  }

  /* --- host actions: requests whose answers come back as state --- */
  async function act(method, rest, body) {
    try {
      const r = await api(method, rest, body);
      if (r && r.video && !destroyed) setVideo(r.video);
      return r;
    } catch (err) {
      if (err && err.code === 'not_host') {
        control = false;
        pick = false;
        render();
      }
      notify('error', (err && err.message) || 'That did not work.');
      throw err;
    }
  }

  function guestTried() {
    showNote(video ? 'Only hosts control playback.' : 'Only hosts can pick the video.');
  }

  function position() {
    return engine ? engine.expected() : video ? video.position : 0;
  }

  playBtn.addEventListener('click', () => {
    if (!control) return guestTried();
    if (!video) return;
    act('POST', video.playing ? '/video/pause' : '/video/play', { position: position() }).catch(() => {});
  });
  scrub.addEventListener('input', () => {
    if (!control || !video) {
      scrub.value = String(position());
      if (!control) guestTried();
      return;
    }
    scrubbing = true;
    timeNow.textContent = formatClock(Number(scrub.value));
  });
  scrub.addEventListener('change', () => {
    if (!control || !video) return;
    const pos = Number(scrub.value);
    act('POST', '/video/seek', { position: pos })
      .catch(() => {})
      .finally(() => {
        scrubbing = false;
        refreshTime();
      });
  });
  rateSel.addEventListener('change', () => {
    if (!control || !video) {
      rateSel.value = String(video ? video.rate : 1);
      if (!control) guestTried();
      return;
    }
    act('POST', '/video/rate', { rate: Number(rateSel.value) }).catch(() => {
      rateSel.value = String(video.rate);
    });
  });
  /* A guest's keyboard or pointer on a control: say why nothing happens. */
  for (const c of [scrub, rateSel]) {
    c.addEventListener('mousedown', (e) => {
      if (!control) {
        e.preventDefault();
        guestTried();
      }
    });
    c.addEventListener('keydown', (e) => {
      if (!control && e.key !== 'Tab') {
        e.preventDefault();
        guestTried();
      }
    });
  }
  guard.addEventListener('click', () => {
    if (!video) return;
    if (!control) return guestTried();
    playBtn.click();
  });
  joinBtn.addEventListener('click', () => {
    if (engine) engine.userGesture();
    render();
  });
  muteBtn.addEventListener('click', () => {
    muted = !muted;
    if (player) player.setMuted(muted);
    render();
  });
  fsBtn.addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (stage.requestFullscreen) stage.requestFullscreen().catch(() => {});
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!pick) return guestTried();
    const url = urlInput.value.trim();
    const bad = checkVideoUrl(url);
    urlError.hidden = !bad;
    urlError.textContent = bad || '';
    urlInput.toggleAttribute('aria-invalid', !!bad);
    if (bad) return urlInput.focus();
    setBtn.disabled = true;
    try {
      await act('PUT', '/video', { url });
      clearIfUnchanged(urlInput, url);
    } catch (err) {
      if (err && (err.field === 'url' || err.status === 400)) {
        urlError.textContent = err.message;
        urlError.hidden = false;
        urlInput.setAttribute('aria-invalid', 'true');
      }
    } finally {
      setBtn.disabled = false;
    }
  });
  queueBtn.addEventListener('click', async () => {
    if (!pick) return guestTried();
    const url = urlInput.value.trim();
    const bad = checkVideoUrl(url);
    urlError.hidden = !bad;
    urlError.textContent = bad || '';
    if (bad) return urlInput.focus();
    queueBtn.disabled = true;
    try {
      await api('POST', '/queue', { url });
      clearIfUnchanged(urlInput, url);
      notify('info', 'Added to the queue');
    } catch (err) {
      urlError.textContent = (err && err.message) || 'That did not work.';
      urlError.hidden = false;
    } finally {
      queueBtn.disabled = false;
    }
  });
  subsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const url = subsUrl.value.trim();
    const bad = checkVideoUrl(url);
    if (bad) {
      notify('error', bad);
      return subsUrl.focus();
    }
    try {
      await api('PUT', '/video/subtitles', { url, label: subsLabel.value.trim() || 'Subtitles', lang: subsLang.value.trim() || 'en' });
      clearIfUnchanged(subsUrl, url);
    } catch (err) {
      notify('error', (err && err.message) || 'That did not work.');
    }
  });
  subsClear.addEventListener('click', () => {
    api('DELETE', '/video/subtitles').catch((err) => notify('error', (err && err.message) || 'That did not work.'));
  });
  urlInput.addEventListener('input', () => {
    urlError.hidden = true;
    urlInput.removeAttribute('aria-invalid');
  });

  const onVisibility = () => {
    if (document.visibilityState === 'visible' && engine) engine.onVisible();
  };
  document.addEventListener('visibilitychange', onVisibility);
  const uiTimer = setInterval(refreshTime, UI_REFRESH_MS);

  render();

  const area = {
    setVideo,
    setHost(b) {
      control = !!b;
      pick = !!b;
      render();
    },
    setPermissions(can) {
      control = !!can.control;
      pick = !!can.video;
      render();
    },
    setWatch(w) {
      track = w.subtitles || null;
      waitingNames = w.waitingNames || [];
      render();
    },
    stage,
    controls,
    /* Diagnostics for tests and the curious: the engine's counters. */
    stats() {
      return {
        status: engine ? engine.status : 'idle',
        error: engine ? engine.lastError : NaN,
        offset: clock.offset,
        uncertainty: clock.uncertainty,
        seekMs: engine ? engine.seekMs : NaN,
        startLatency: engine ? engine.startLatency : NaN,
        ...(engine ? engine.stats : {}),
      };
    },
    destroy() {
      destroyed = true;
      dropPlayer();
      subs.destroy();
      waitOverlay.destroy();
      clock.stop();
      clearInterval(uiTimer);
      if (noteTimer) clearTimeout(noteTimer);
      document.removeEventListener('visibilitychange', onVisibility);
      root.remove();
    },
  };
  /* For tests and benchmarks: the area behind a .wnc-video element. */
  Object.defineProperty(root, 'wncArea', { value: area });
  return area;
}
