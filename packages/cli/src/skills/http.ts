import { UsageError } from '../commands/common.js';

/** Set to `1` to let `rampart agent` and `rampart mcp` send their credential over plain http to a non-loopback host. */
export const INSECURE_HTTP_ENV = 'RAMPART_ALLOW_INSECURE_HTTP';

const isLoopback = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/**
 * The server base URL, checked: https anywhere, plain http only on loopback (a runtime token or API key sent in
 * clear over a network is a token given away; signatures protect the packages, not the credential), unless the
 * caller passes `allowInsecureHttp` (an explicit, documented operator override).
 */
export function serverUrl(raw: string, opts: { allowInsecureHttp?: boolean } = {}): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('--server must be a URL such as https://rampart.example.com');
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (isLoopback(url.hostname) || opts.allowInsecureHttp)) return url;
  throw new UsageError(
    url.protocol === 'http:'
      ? `--server must use https: plain http would send the credential in clear (allowed for localhost only, or with ${INSECURE_HTTP_ENV}=1)`
      : '--server must use https (plain http is allowed for localhost only)',
  );
}

/**
 * `path` under the server's base URL, keeping any path prefix the server is mounted under
 * (`https://host/rampart` + `mcp` is `https://host/rampart/mcp`, not `https://host/mcp`).
 */
export function endpointUrl(base: URL, path: string): URL {
  const root = new URL(base);
  root.search = '';
  root.hash = '';
  if (!root.pathname.endsWith('/')) root.pathname = `${root.pathname}/`;
  return new URL(path.replace(/^\/+/, ''), root);
}

/** A JSON API call with a bearer credential; errors carry the server's error code and message, never the token. */
export async function apiJson<T>(
  base: URL,
  path: string,
  credential: string,
  init: { method?: string; body?: Uint8Array; contentType?: string; timeoutMs?: number } = {},
): Promise<T> {
  const res = await apiFetch(base, path, credential, init);
  return (await res.json()) as T;
}

export async function apiFetch(
  base: URL,
  path: string,
  credential: string,
  init: { method?: string; body?: Uint8Array; contentType?: string; timeoutMs?: number } = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${credential}`,
        ...(init.contentType ? { 'content-type': init.contentType } : {}),
      },
      ...(init.body ? { body: init.body } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
      redirect: 'error',
    });
  } catch (err) {
    const cause = (err as Error).name === 'TimeoutError' ? 'timed out' : 'could not be reached';
    throw new Error(`the server at ${base.origin} ${cause}`);
  }
  if (!res.ok) {
    let detail = '';
    try {
      const body = (await res.json()) as { error?: string; message?: string };
      detail = `${body.error ?? 'error'}: ${body.message ?? ''}`;
    } catch {
      detail = res.statusText;
    }
    throw new HttpError(res.status, `server answered ${res.status} (${detail.trim()})`);
  }
  return res;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
