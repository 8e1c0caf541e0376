// The console's one way to the service: fetch against /v1 with the token from sessionStorage
// in the Authorization header (never in a URL), problem+json turned into Problem errors.

const KEY = 'stockpile.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  signIn(token) { sessionStorage.setItem(KEY, token); },
  signOut() { sessionStorage.clear(); },
  /** The token's claims, for display only: the API decides what the caller may do. */
  claims() {
    const t = this.token;
    if (!t) return null;
    try {
      const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(p.padEnd(Math.ceil(p.length / 4) * 4, '=')));
    } catch {
      return null;
    }
  },
};

/** A refusal or failure: the status and the problem document. */
export class Problem extends Error {
  constructor(status, doc) {
    super(doc.detail || doc.title || `HTTP ${status}`);
    this.status = status;
    this.doc = doc;
  }
}

/** A fresh Idempotency-Key (works outside secure contexts too). */
export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'console-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

let unauthorized = () => {};
/** What to do on a 401: the app returns to sign-in. */
export function onUnauthorized(f) { unauthorized = f; }

/**
 * One call. Writes need `key` (one per user action, so a double click or a retry after a
 * lost answer applies once). `raw`: return the Response (downloads).
 */
export async function call(method, path, { body, key, raw } = {}) {
  const headers = { authorization: `Bearer ${session.token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    if (!key) throw new Error('a write needs an idempotency key');
    headers['idempotency-key'] = key;
  }
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 401) {
    session.signOut();
    unauthorized();
    throw new Problem(401, { title: 'Signed out', detail: 'The token was refused or has expired: sign in again.' });
  }
  if (!res.ok) {
    let doc;
    try { doc = await res.json(); } catch { doc = { title: res.statusText || 'Error', detail: `HTTP ${res.status}` }; }
    throw new Problem(res.status, doc);
  }
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}

export const get = (path) => call('GET', path);

/** A path with a query string from the defined values of `params`. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// Who may call what, read from the service's own OpenAPI document (each operation's security
// requirement names its roles). Used to show only the actions a role may take.
let roles = null;
export async function loadRoles() {
  if (roles) return;
  const res = await fetch('/openapi.json', { credentials: 'omit' });
  const doc = await res.json();
  roles = { paths: doc.paths };
}
export function may(method, template) {
  const role = session.claims()?.role;
  const op = roles?.paths?.[template]?.[method.toLowerCase()];
  if (!op) return false;
  const req = op.security?.[0]?.bearer;
  return !req || req.includes(role);
}
export function documented(template) { return Boolean(roles?.paths?.[template]); }

/** Runs `load` between performance marks, so a page's data load time can be measured. */
export async function timed(page, load) {
  const start = `data:${page}:start`;
  performance.mark(start);
  try {
    return await load();
  } finally {
    performance.measure(`data:${page}`, start);
  }
}
