import type { ErrorCode } from '@rampart/server/api-types';

/**
 * The dashboard's API client and its session.
 *
 * Where the credentials live: the session JWT (15 minutes) in this module's memory only; the refresh token in an
 * HttpOnly, SameSite=Strict cookie scoped to `/api/auth/session`, which no script can read. Nothing is ever
 * written to localStorage or sessionStorage. On load the app trades the cookie for a JWT ({@link
 * restoreSession}), so a reload or a second tab stays signed in; each tab refreshes its JWT a minute before it
 * expires, and a 401 triggers one refresh before the tab signs out. Every refresh rotates the cookie, and the
 * server treats a rotated cookie presented again as theft (the whole sign-in is revoked), so refreshes are
 * serialised across tabs with the Web Locks API and within a tab by sharing one in-flight promise.
 */

/** An error answer's code (the server's registry), or the client's own: unreachable server, unreadable answer. */
export type ApiErrorCode = ErrorCode | 'network' | 'error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Refresh this long before the JWT expires. */
const REFRESH_EARLY_MS = 60_000;
/** After a refresh that could not reach the server, try again this much later (the JWT may still be valid). */
const RETRY_MS = 30_000;
const LOCK = 'rampart-session-refresh';

let token: string | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

/**
 * How long the JWT lives, in ms, from its own `iat` and `exp` (both the server's clock, so a skewed local clock
 * does not matter). Read without verifying: only to schedule its refresh.
 */
function lifetimeOf(jwt: string): number | null {
  const { iat, exp } = claimsOf(jwt);
  return typeof iat === 'number' && typeof exp === 'number' ? (exp - iat) * 1000 : null;
}

function claimsOf(jwt: string): Record<string, unknown> {
  try {
    const part = jwt.split('.')[1] ?? '';
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Refreshes `delayMs` from now, or a minute before the current JWT expires (counted from its adoption). */
function schedule(delayMs?: number): void {
  clearTimeout(timer);
  timer = undefined;
  if (!token) return;
  const lifetime = lifetimeOf(token);
  const delay = delayMs ?? (lifetime === null ? null : Math.max(5_000, lifetime - REFRESH_EARLY_MS));
  if (delay !== null) timer = setTimeout(() => void refreshSession(), delay);
}

export const session = {
  get token(): string | null {
    return token;
  },
  /** The signed-in user's id (the JWT's `sub`): a refresh may bring another user's sign-in from another tab. */
  get userId(): string | null {
    const sub = token ? claimsOf(token).sub : null;
    return typeof sub === 'string' ? sub : null;
  },
  /** Adopts a session JWT (or ends the session with null) and schedules its refresh. */
  set(next: string | null): void {
    token = next;
    schedule();
    for (const l of listeners) l();
  },
  /** Called when the server says the session is gone (expired, revoked, signed out elsewhere). */
  onChange(fn: () => void): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

type Outcome = 'ok' | 'gone' | 'offline';

async function refreshOnce(): Promise<Outcome> {
  let res: Response;
  try {
    // Same-origin credentials: the browser sends the HttpOnly cookie (and its Origin header) to this path only.
    res = await fetch('/api/auth/session', { method: 'POST', credentials: 'same-origin' });
  } catch {
    return 'offline';
  }
  if (res.ok) {
    const body = (await res.json().catch(() => ({}))) as { token?: unknown };
    if (typeof body.token === 'string') {
      session.set(body.token);
      return 'ok';
    }
  }
  return res.status >= 500 ? 'offline' : 'gone';
}

let inflight: Promise<Outcome> | null = null;

/**
 * Trades the refresh cookie for a new session JWT (rotating the cookie). One at a time per browser: the Web Lock
 * queues other tabs behind this one, so each sends the cookie the previous refresh left. Resolves true when
 * signed in; on a refused cookie the session ends (every tab then lands on the sign-in page).
 */
export function refreshSession(): Promise<boolean> {
  inflight ??= (async () => {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    const outcome = locks ? await locks.request(LOCK, refreshOnce) : await refreshOnce();
    if (outcome === 'gone' && token) session.set(null);
    if (outcome === 'offline' && token) schedule(RETRY_MS);
    return outcome;
  })().finally(() => {
    inflight = null;
  });
  return inflight.then((o) => o === 'ok');
}

/** On load: resume the sign-in of the refresh cookie, if there is one. Resolves true when signed in. */
export const restoreSession = (): Promise<boolean> => refreshSession();

/**
 * Signs in through an auth endpoint with `session: "cookie"`: the server sets the HttpOnly refresh cookie, and the
 * session JWT of the answer is adopted (kept in memory, refreshed before it expires). For sign-in, sign-up,
 * OIDC completion, password change and any later "POST this, get a session" page (reset, invitation).
 * Answers without a `token` (e.g. OIDC's `linkRequired`) are returned untouched.
 * @example const r = await signInWithCookie<{ token: string }>('/api/auth/login', { email, password });
 * @throws ApiError as {@link api}
 */
export async function signInWithCookie<T extends { token?: string }>(
  path: string,
  body: Record<string, unknown>,
): Promise<T> {
  const r = await api<T>('POST', path, { ...body, session: 'cookie' }, { withCookies: true });
  if (typeof r?.token === 'string') session.set(r.token);
  return r;
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Calls the API with the session token. JSON in, JSON out; errors become {@link ApiError} with the server's
 * code and message. A 401 on an authenticated call tries one refresh and the call again; if the refresh is
 * refused, the session ends.
 */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  // Only the sign-in routes (OIDC binding cookie, refresh cookie being set) send or accept cookies.
  opts: { withCookies?: boolean; retried?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: opts.withCookies ? 'same-origin' : 'omit',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  const data = await parse(res);
  if (!res.ok) {
    const e = (data ?? {}) as { error?: ErrorCode; message?: string } & Record<string, unknown>;
    const { error, message, ...details } = e;
    if (res.status === 401 && token && error === 'unauthorized') {
      const sent = headers.authorization;
      // Another call may have refreshed meanwhile; otherwise refresh now. Then retry once.
      if (!opts.retried && (token !== sent?.slice(7) || (await refreshSession())))
        return api<T>(method, path, body, { ...opts, retried: true });
      if (token === sent?.slice(7)) session.set(null);
    }
    throw new ApiError(res.status, error ?? 'error', message ?? `Request failed (${res.status})`, details);
  }
  return data as T;
}

/** Downloads an authenticated export (CSV, NDJSON) as a file, without putting the token in a URL. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    credentials: 'omit',
  });
  if (!res.ok) {
    const e = ((await parse(res)) ?? {}) as { error?: ErrorCode; message?: string };
    throw new ApiError(res.status, e.error ?? 'error', e.message ?? `Export failed (${res.status})`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const orgPath = (orgId: string, rest = '') => `/api/orgs/${encodeURIComponent(orgId)}${rest}`;

export type { Me } from '@rampart/server/api-types';
