// Admin REST client: every call carries the bearer token; every error becomes an ApiError
// whose message can be shown to staff as it is.

import { $, clear, el } from './dom.js';

const TOKEN_KEY = 'pentagon.admin.token';
// A Supabase sign-in also keeps its refresh token and the access token's expiry (epoch seconds).
const REFRESH_KEY = 'pentagon.admin.refresh';
const EXPIRES_KEY = 'pentagon.admin.expires_at';
const KEYS = [TOKEN_KEY, REFRESH_KEY, EXPIRES_KEY];

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function stored(key) {
  return sessionStorage.getItem(key) || localStorage.getItem(key) || '';
}

export const session = {
  get token() {
    return stored(TOKEN_KEY);
  },
  get refreshToken() {
    return stored(REFRESH_KEY);
  },
  get expiresAt() {
    return Number(stored(EXPIRES_KEY)) || 0;
  },
  get remembered() {
    return localStorage.getItem(TOKEN_KEY) !== null;
  },
  /** `supabase`: {refresh_token, expires_at} of a Supabase session, or nothing for an admin token. */
  save(token, remember, supabase = null) {
    const values = {
      [TOKEN_KEY]: token,
      [REFRESH_KEY]: supabase ? supabase.refresh_token : '',
      [EXPIRES_KEY]: supabase ? String(supabase.expires_at) : '',
    };
    for (const [key, value] of Object.entries(values)) {
      if (value) sessionStorage.setItem(key, value);
      else sessionStorage.removeItem(key);
      if (remember && value) localStorage.setItem(key, value);
      else localStorage.removeItem(key);
    }
  },
  clear() {
    for (const key of KEYS) {
      sessionStorage.removeItem(key);
      localStorage.removeItem(key);
    }
  },
};

const FRIENDLY = {
  401: 'Your session is not valid any more: please sign in again.',
  403: 'Your account can only view: this action needs an admin.',
  404: 'Not found: it may have been deleted.',
  409: 'That change conflicts with the current state.',
  422: 'The request was not valid.',
  429: 'Too many requests: wait a moment and try again.',
};

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = FRIENDLY[response.status] || `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    const err = body && body.error;
    if (err && typeof err === 'object') {
      code = err.code || code;
      if (err.message) message = String(err.message);
    } else if (body && typeof body.detail === 'string') {
      message = body.detail;
    }
  } catch {
    // Not JSON (a proxy error page): keep the friendly default.
  }
  return new ApiError(response.status, code, message);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

let renew = null;

/** `fn` gets a new token when a request made with the stored one is refused (401); resolves true if it did. */
export function onExpired(fn) {
  renew = fn;
}

async function raw(method, path, { body, token, retried = false } = {}) {
  const ownToken = token === undefined; // the session's, not a candidate being tried at sign-in
  if (ownToken) token = session.token;
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server: check the connection.');
  }
  if (response.status === 401 && !retried && ownToken && token && session.token) {
    // Sent with a token renewed meanwhile (requests overlap a renewal): retry, do not renew again.
    if (token !== session.token || (renew && (await renew()))) {
      return raw(method, path, { body, retried: true });
    }
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function call(method, path, options = {}) {
  const response = await raw(method, path, options);
  if (response.status === 204) return {};
  const data = await response.json();
  if (data && data.success === false) {
    const err = data.error || {};
    throw new ApiError(response.status, err.code || 'error', err.message || 'The server refused the request.');
  }
  return data;
}

export const get = (path, options) => call('GET', path, options);

/** The rows of one GET, shown by `render()`. Loads overlap (sign-in, the tab, after each write):
 *  the newest wins, so an older, slower answer never puts back rows from before a write. */
export class ServerRows {
  constructor(path, field, onError) {
    this.path = path;
    this.field = field;
    this.onError = onError;
    this.rows = [];
    this.response = {}; // the whole answer, for what a list carries beside its rows
    this.loads = 0;
  }

  async load() {
    const seq = ++this.loads;
    try {
      const data = await get(this.path);
      if (seq !== this.loads) return;
      this.rows = Array.isArray(data[this.field]) ? data[this.field] : [];
      this.response = data;
    } catch (err) {
      if (seq !== this.loads) return;
      this.onError(err);
    }
    this.render();
  }

  render() {}

  /** The rows (or `rows`) as `card(row)` in `selector`, or `empty` when there are none. */
  renderCards(selector, empty, rows = this.rows) {
    const list = $(selector);
    clear(list);
    if (!rows.length) list.append(el('p', { class: 'muted', text: empty }));
    for (const row of rows) list.append(this.card(row));
  }

  /** One write, then the rows again whatever happened: a 503 may still have changed something. */
  async write(method, path, body = {}) {
    try {
      await call(method, path, { body });
      return true;
    } catch (err) {
      this.onError(err);
      return false;
    } finally {
      await this.load();
    }
  }
}
export const post = (path, body, options = {}) => call('POST', path, { ...options, body: body ?? {} });

/** Fetch with the Authorization header, then hand the bytes to the browser as a download. */
export async function download(path, filename) {
  const response = await raw('GET', path);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function supabaseToken(config, grantType, body, fallback) {
  const url = `${String(config.supabase_url).replace(/\/$/, '')}/auth/v1/token?grant_type=${grantType}`;
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { apikey: config.supabase_anon_key, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach Supabase.');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.access_token) {
    throw new ApiError(response.status, 'auth', data.error_description || data.msg || data.message || fallback);
  }
  // GoTrue sends expires_at; compute it from expires_in for older servers.
  const expiresAt = Number(data.expires_at) || Math.floor(Date.now() / 1000) + (Number(data.expires_in) || 3600);
  return { access_token: data.access_token, refresh_token: String(data.refresh_token || ''), expires_at: expiresAt };
}

/** Optional Supabase Auth (password grant), only when the server says it is configured. */
export function supabaseSignIn(config, email, password) {
  return supabaseToken(config, 'password', { email, password }, 'Wrong email or password.');
}

/** A new access token for a Supabase session; the refresh token is single-use (rotated). */
export function supabaseRefresh(config, refreshToken) {
  return supabaseToken(config, 'refresh_token', { refresh_token: refreshToken }, 'The session could not be renewed.');
}
