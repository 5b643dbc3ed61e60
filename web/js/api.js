/*
 * The one place that talks HTTP to the API. Every call resolves to the parsed
 * JSON body (or null for 204) and rejects with an ApiError that carries the
 * server's stable error code, so callers branch on codes, never on prose.
 */

/**
 * An API failure: HTTP status (0 when the network failed), code, message, field, and
 * retryAfter: the answer's Retry-After in seconds (429, 503), or null.
 */
export class ApiError extends Error {
  constructor(status, code, message, field = null, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

const FALLBACK_MESSAGES = {
  0: 'Cannot reach the server. Check your connection.',
  413: 'That is too large for the server.',
  429: 'Too many requests. Please wait a moment.',
  502: 'The server is not answering right now.',
  503: 'The server is temporarily unavailable.',
  504: 'The server took too long to answer.',
};

/**
 * Sends one API request.
 * method: 'GET' | 'POST' | 'PUT' ...; path: '/api/...'; body: object or undefined;
 * token: bearer token for the room or undefined.
 * Resolves to the parsed JSON, or null when the answer has no body (204).
 * Rejects with ApiError; a network failure is status 0, code 'network_error'.
 */
export async function request(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined && body !== null) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body !== undefined && body !== null ? JSON.stringify(body) : undefined,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, 'network_error', FALLBACK_MESSAGES[0]);
  }

  if (response.status === 204) return null;

  let data = null;
  const text = await response.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (err) {
      data = null;
    }
  }

  if (response.ok) return data;

  const e = data && typeof data === 'object' && data.error ? data.error : null;
  let message = e && typeof e.message === 'string' && e.message ? e.message : null;
  if (!message) message = FALLBACK_MESSAGES[response.status] || `Request failed (${response.status}).`;
  const after = Number(response.headers.get('Retry-After'));
  const retryAfter = Number.isFinite(after) && after > 0 ? after : null;
  if (response.status === 429 && retryAfter !== null) message = `Too many requests. Try again in ${retryAfter} s.`;
  throw new ApiError(
    response.status,
    e && typeof e.code === 'string' ? e.code : `http_${response.status}`,
    message,
    e && typeof e.field === 'string' ? e.field : null,
    retryAfter,
  );
}

/** Returns request() with the token bound: (method, path, body) => Promise. */
export function bindRequest(token) {
  return (method, path, body) => request(method, path, body, token);
}

/** URL-path pieces for one room, with the id already validated by the caller. */
export function roomPath(roomId, rest = '') {
  return `/api/rooms/${encodeURIComponent(roomId)}${rest}`;
}
