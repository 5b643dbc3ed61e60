/*
 * Copies text to the clipboard. The async Clipboard API needs a secure
 * context; on plain http (not localhost) fall back to a hidden textarea.
 */

/** Resolves true when the text was copied. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      /* Permission denied or unfocused document: try the old way. */
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch (err) {
    ok = false;
  }
  area.remove();
  return ok;
}
