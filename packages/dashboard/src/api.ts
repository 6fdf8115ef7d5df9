/**
 * The dashboard's API client. The session token lives in this module's memory only: never in localStorage,
 * sessionStorage or a cookie, so nothing on disk or readable by another tab outlives the page. A reload signs
 * the user out; that is the price of keeping the bearer token out of storage.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let token: string | null = null;
const listeners = new Set<() => void>();

export const session = {
  get token(): string | null {
    return token;
  },
  set(next: string | null): void {
    token = next;
    for (const l of listeners) l();
  },
  /** Called when the server says the session is gone (expired, revoked, signed out elsewhere). */
  onChange(fn: () => void): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

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
 * code and message. A 401 on an authenticated call ends the session.
 */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  // Only the OIDC sign-in routes need their HttpOnly binding cookie; everything else sends none.
  opts: { withCookies?: boolean } = {},
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
    const e = (data ?? {}) as { error?: string; message?: string } & Record<string, unknown>;
    const { error, message, ...details } = e;
    if (res.status === 401 && token && error === 'unauthorized') session.set(null);
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
    const e = ((await parse(res)) ?? {}) as { error?: string; message?: string };
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

export interface Me {
  userId: string;
  email: string;
  orgs: Array<{ orgId: string; name: string; role: 'owner' | 'admin' | 'member' | 'viewer' }>;
  totpEnabled: boolean;
  isOperator: boolean;
  /** False until the account confirms its address (the dashboard shows a banner). */
  emailVerified?: boolean;
}
