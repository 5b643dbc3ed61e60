/*
 * An optional notification sound for new chat messages, made with WebAudio
 * (no sound file to fetch). Off by default; the choice is kept in localStorage.
 */

const KEY = 'wnc-sound';
let ctx = null;

export function soundEnabled() {
  try {
    return window.localStorage.getItem(KEY) === 'on';
  } catch (err) {
    return false;
  }
}

function audio() {
  if (!ctx) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    ctx = new Ctx();
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

/** Plays a short two-note chime. */
export function beep() {
  const a = audio();
  if (!a) return;
  const now = a.currentTime;
  [660, 880].forEach((freq, i) => {
    const osc = a.createOscillator();
    const gain = a.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    const t = now + i * 0.09;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.12, t + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
    osc.connect(gain).connect(a.destination);
    osc.start(t);
    osc.stop(t + 0.18);
  });
}

/** Wires the toggle button (aria-pressed shows the state). */
export function initSoundToggle(button) {
  const sync = () => {
    const on = soundEnabled();
    button.setAttribute('aria-pressed', String(on));
    button.title = on ? 'Notification sound is on' : 'Notification sound is off';
  };
  button.addEventListener('click', () => {
    const on = !soundEnabled();
    try {
      window.localStorage.setItem(KEY, on ? 'on' : 'off');
    } catch (err) {
      /* Not remembered. */
    }
    sync();
    if (on) beep(); /* Also unlocks audio while we have a user gesture. */
  });
  sync();
}
