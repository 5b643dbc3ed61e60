/* Shared by the player adapters: an event emitter and a script loader. */

/* A tiny event emitter shared by the adapters. */
export class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }
  emit(type, arg) {
    for (const fn of [...(this.handlers.get(type) || [])]) {
      try {
        fn(arg);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

/* Loads a classic script once (hls.js, the YouTube API); rejects on error or timeout. */
const scripts = new Map();
export function loadScript(src, timeoutMs = 10000) {
  if (scripts.has(src)) return scripts.get(src);
  const p = new Promise((resolve, reject) => {
    const el = document.createElement('script');
    const timer = setTimeout(() => reject(new Error(`timed out loading ${src}`)), timeoutMs);
    el.src = src;
    el.async = true;
    el.onload = () => {
      clearTimeout(timer);
      resolve();
    };
    el.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`could not load ${src}`));
    };
    document.head.appendChild(el);
  });
  scripts.set(src, p);
  p.catch(() => scripts.delete(src));
  return p;
}
