/*
 * The host's tools on a member that need a question first (issue 16): how
 * long to mute, and a member's new name for itself. Each is a small modal
 * <dialog> built on demand and removed when answered; text goes in through
 * textContent only.
 */
import { h } from './dom.js';
import { checkName } from './validate.js';

/* The mute durations offered, in minutes (null: until unmuted). */
export const MUTE_CHOICES = [
  [null, 'Until unmuted'],
  [5, '5 minutes'],
  [15, '15 minutes'],
  [60, '1 hour'],
  [1440, '1 day'],
];

/* A modal dialog with a title, content and Cancel / ok buttons; resolves with what
 * onOk returns, or undefined when cancelled. onOk may throw an Error to keep the dialog
 * open with its message shown. */
function modal(title, content, okLabel, onOk) {
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const ok = h('button', { type: 'submit', class: 'btn btn-primary' }, okLabel);
  const cancel = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Cancel');
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const form = h('form', { class: 'dialog-form', novalidate: true },
    h('h2', { id: titleId }, title), ...content, error,
    h('div', { class: 'dialog-actions' }, cancel, ok));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, form);
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer;
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    cancel.addEventListener('click', () => dialog.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ok.disabled = true;
      try {
        answer = await onOk();
        dialog.close();
      } catch (err) {
        error.textContent = err.message || 'That did not work.';
        error.hidden = false;
      } finally {
        ok.disabled = false;
      }
    });
    dialog.showModal();
    const first = form.querySelector('input, select');
    if (first) first.focus();
  });
}

/** Asks how long to mute name: resolves to minutes, null (until unmuted), or undefined (cancelled). */
export function chooseMuteMinutes(name) {
  const select = h('select', { id: 'mute-minutes', class: 'select' },
    ...MUTE_CHOICES.map(([minutes, label]) => h('option', { value: minutes === null ? '' : String(minutes) }, label)));
  const field = h('div', { class: 'field' }, h('label', { for: 'mute-minutes' }, 'Mute for'), select);
  return modal(`Mute ${name}?`, [field], 'Mute', () => (select.value === '' ? null : Number(select.value)));
}

/**
 * Asks this member for a new name (pre-filled with current) and sends it with
 * rename(name) => Promise; a refusal (name taken, invalid) stays in the dialog, inline.
 * Resolves when renamed or cancelled.
 */
export function askNewName(current, rename) {
  const input = h('input', { id: 'rename-input', type: 'text', maxlength: '50', autocomplete: 'nickname', spellcheck: 'false' });
  input.value = current;
  const field = h('div', { class: 'field' }, h('label', { for: 'rename-input' }, 'New name'), input);
  return modal('Change your name', [field], 'Save', async () => {
    const bad = checkName(input.value);
    if (bad) throw new Error(bad);
    await rename(input.value.trim());
    return input.value.trim();
  });
}
