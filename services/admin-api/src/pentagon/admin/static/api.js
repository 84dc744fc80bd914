// Admin REST client: every call carries the bearer token; every error becomes an ApiError
// whose message can be shown to staff as it is.

const TOKEN_KEY = 'pentagon.admin.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || '';
  },
  save(token, remember) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (remember) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
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

async function raw(method, path, { body, token = session.token } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server: check the connection.');
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

/** Optional Supabase Auth (password grant), only when the server says it is configured. */
export async function supabaseSignIn(config, email, password) {
  const url = `${String(config.supabase_url).replace(/\/$/, '')}/auth/v1/token?grant_type=password`;
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { apikey: config.supabase_anon_key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach Supabase.');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.access_token) {
    throw new ApiError(response.status, 'auth', data.error_description || data.msg || data.message || 'Wrong email or password.');
  }
  return data.access_token;
}
