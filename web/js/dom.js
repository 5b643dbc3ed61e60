/*
 * Tiny DOM helpers. Text always goes in through text nodes (textContent),
 * never through innerHTML, so server-provided strings can never become markup.
 */

/**
 * Creates an element. attrs: {class, text, hidden, on: {event: fn}, dataset: {...}, ...attributes}.
 * children: nodes or strings (strings become text nodes); null/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'hidden') el.hidden = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Returns the element with that id or throws (a missing element is a page bug). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

/** Formats a server timestamp (ms) as a short local time, e.g. "14:05". */
export function formatTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Shows an inline field error (or clears it with null) and sets aria-invalid. */
export function setFieldError(input, errorEl, message) {
  if (message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    input.setAttribute('aria-invalid', 'true');
  } else {
    errorEl.textContent = '';
    errorEl.hidden = true;
    input.removeAttribute('aria-invalid');
  }
}

/** Puts a button into (or out of) its busy state: disabled, spinner, aria-busy. */
export function setBusy(button, busy) {
  button.disabled = busy;
  button.classList.toggle('is-busy', busy);
  if (busy) button.setAttribute('aria-busy', 'true');
  else button.removeAttribute('aria-busy');
}

/**
 * Empties a field once what it sent was accepted, unless the user has typed something else
 * meanwhile (the next URL while the first was on its way): that stays.
 */
export function clearIfUnchanged(input, sent) {
  if (input.value.trim() === sent) input.value = '';
}
