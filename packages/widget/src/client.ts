/**
 * The widget's conversation with Rampart's public widget routes: a visitor session on first use, then one
 * message at a time. Kept free of DOM code (fetch only) so its error handling is unit-tested in Node.
 *
 * The visitor token lives in this closure only: never in localStorage, sessionStorage or a cookie, and
 * requests carry no credentials.
 */

/** The server's limit on a message, after trimming (`packages/server/src/widget/public-routes.ts`). */
export const MAX_MESSAGE_LENGTH = 4_000;

export type Failure =
  | { ok: false; error: 'rate_limited'; retryAfter: number }
  | { ok: false; error: 'quota_exceeded' | 'origin_not_allowed' | 'invalid' | 'unavailable' };

export type Outcome = { ok: true; reply: string } | Failure;

export interface Client {
  /** Never throws: every failure is an Outcome the panel can put into words. */
  send(message: string): Promise<Outcome>;
  /**
   * Deletes what the server keeps of every conversation this page started (a new session, and so a new
   * conversation, begins about every hour), then forgets the session (the next message starts a new one).
   * Nothing sent yet: nothing to delete. Never throws; reports a failure rather than a deletion that did not happen.
   */
  forget(): Promise<{ ok: true } | Failure>;
}

/** `cache` is spelled out: Node's RequestInit type (used when tests typecheck this file) lacks it. */
type Init = RequestInit & { cache?: 'no-store' };
type Fetch = (input: string, init?: Init) => Promise<Response>;

interface Answer {
  status: number;
  data: { error?: unknown; reply?: unknown; visitorToken?: unknown; expiresAt?: unknown };
  retryAfter: string | null;
}

/** What the visitor reads for each failure. */
export function errorText(f: Failure): string {
  switch (f.error) {
    case 'rate_limited':
      return `You're sending messages too fast; try again in ${f.retryAfter} second${f.retryAfter === 1 ? '' : 's'}.`;
    case 'quota_exceeded':
      return 'This assistant has reached its message limit for now. Please try again later.';
    case 'origin_not_allowed':
      return 'This site is not allowed to use this chat widget.';
    case 'invalid':
      return `That message could not be sent. Messages can be up to ${MAX_MESSAGE_LENGTH} characters.`;
    default:
      return 'Could not reach the assistant. Please try again in a moment.';
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), kept within 1 s .. 1 h. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  let s = Number(header);
  if (header === null || header.trim() === '' || !Number.isFinite(s)) {
    const at = header === null ? Number.NaN : Date.parse(header);
    s = Number.isNaN(at) ? 30 : (at - now) / 1000;
  }
  return Math.min(3600, Math.max(1, Math.ceil(s)));
}

function failure(a: Answer): Failure {
  const code = a.data.error;
  if (code === 'quota_exceeded' || a.status === 402) return { ok: false, error: 'quota_exceeded' };
  if (code === 'rate_limited' || a.status === 429)
    return { ok: false, error: 'rate_limited', retryAfter: retryAfterSeconds(a.retryAfter) };
  if (code === 'origin_not_allowed') return { ok: false, error: 'origin_not_allowed' };
  if (a.status === 400 || a.status === 413) return { ok: false, error: 'invalid' };
  return { ok: false, error: 'unavailable' };
}

/**
 * @param base the Rampart URL the script was loaded from, ending in `/` (e.g. `https://rampart.example.com/`)
 */
export function createClient(base: string, widgetId: string, fetchImpl: Fetch = fetch): Client {
  const doFetch = fetchImpl;
  const root = `${base}widget/${encodeURIComponent(widgetId)}/`;
  let token: string | null = null;
  /** Every session token this page was given, still holding a conversation to delete ("Delete my conversation"). */
  const issued: string[] = [];
  let expiresAt = 0;

  const post = async (path: string, body?: unknown, method = 'POST', as = token): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (as !== null) headers.authorization = `Bearer ${as}`;
    // The session call has no body and no custom header: a simple CORS request, no preflight.
    const res = await doFetch(root + path, {
      method,
      headers,
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    let data: Answer['data'] = {};
    try {
      const parsed: unknown = await res.json();
      if (parsed && typeof parsed === 'object') data = parsed;
    } catch {
      // Not JSON (a proxy's error page): the status decides.
    }
    return { status: res.status, data, retryAfter: res.headers.get('retry-after') };
  };

  /**
   * A failed CORS request does not say why. Rampart answers a foreign origin (or an unknown widget) without
   * CORS headers, so the browser hides that answer; a network failure looks the same. If the server answers a
   * no-cors request for the script itself, it is reachable, so the refusal was about this site.
   */
  const reachable = async (): Promise<boolean> => {
    try {
      await doFetch(`${base}widget.js`, {
        method: 'HEAD',
        mode: 'no-cors',
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
      return true;
    } catch {
      return false;
    }
  };

  const send = async (message: string): Promise<Outcome> => {
    if (message.length > MAX_MESSAGE_LENGTH) return { ok: false, error: 'invalid' };
    try {
      for (let attempt = 0; ; attempt++) {
        // A fresh session on first use, and a minute before the old one expires.
        if (token === null || (expiresAt > 0 && expiresAt - Date.now() < 60_000)) {
          token = null;
          const s = await post('session');
          if (s.status !== 200 || typeof s.data.visitorToken !== 'string') return failure(s);
          token = s.data.visitorToken;
          issued.push(token);
          expiresAt = typeof s.data.expiresAt === 'string' ? Date.parse(s.data.expiresAt) || 0 : 0;
        }
        const m = await post('messages', { message });
        if (m.status === 200 && typeof m.data.reply === 'string') return { ok: true, reply: m.data.reply };
        if (m.status === 401) {
          // Expired or rejected session: start a new one, once.
          token = null;
          if (attempt === 0) continue;
        }
        return failure(m);
      }
    } catch {
      return { ok: false, error: (await reachable()) ? 'origin_not_allowed' : 'unavailable' };
    }
  };

  const forget = async (): Promise<{ ok: true } | Failure> => {
    if (token !== null && !issued.includes(token)) issued.push(token);
    try {
      // Oldest first; each token opens its own session's conversation, expired ones too (the server accepts them
      // for deletion). A token is dropped only once its conversation is gone.
      while (issued.length > 0) {
        const t = issued[0] as string;
        const r = await post('conversation', undefined, 'DELETE', t);
        if (r.status !== 200) return failure(r);
        issued.shift();
      }
      token = null;
      expiresAt = 0;
      return { ok: true };
    } catch {
      return { ok: false, error: 'unavailable' };
    }
  };

  return { send, forget };
}
