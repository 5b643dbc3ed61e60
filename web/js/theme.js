/*
 * Theme toggle shared by every page: dark by default, light on request,
 * remembered in localStorage (theme-init.js applies it before first paint).
 */

const KEY = 'wnc-theme';

export function currentTheme() {
  return document.documentElement.getAttribute('data-theme') === 'light' ? 'light' : 'dark';
}

function apply(theme) {
  document.documentElement.setAttribute('data-theme', theme);
  try {
    window.localStorage.setItem(KEY, theme);
  } catch (err) {
    /* Not remembered, still applied. */
  }
}

/** Wires every [data-theme-toggle] button on the page. */
export function initThemeToggle() {
  const buttons = document.querySelectorAll('[data-theme-toggle]');
  const sync = () => {
    const light = currentTheme() === 'light';
    for (const b of buttons) {
      b.setAttribute('aria-pressed', String(light));
      b.setAttribute('title', light ? 'Switch to dark theme' : 'Switch to light theme');
      const label = b.querySelector('.theme-label');
      if (label) label.textContent = light ? 'Dark' : 'Light';
    }
  };
  for (const b of buttons) {
    b.addEventListener('click', () => {
      apply(currentTheme() === 'light' ? 'dark' : 'light');
      sync();
    });
  }
  sync();
}
