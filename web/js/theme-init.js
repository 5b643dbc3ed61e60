/*
 * Applies the saved colour theme before the first paint, so a light-theme
 * reader never sees a dark flash. This is a classic (non-module) script on
 * purpose: modules are deferred and would run after the first paint.
 */
(function () {
  var theme = 'dark';
  try {
    if (window.localStorage.getItem('wnc-theme') === 'light') theme = 'light';
  } catch (e) {
    /* Storage can be disabled; the default theme is fine then. */
  }
  document.documentElement.setAttribute('data-theme', theme);
})();
