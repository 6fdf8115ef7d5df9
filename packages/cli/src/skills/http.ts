import { UsageError } from '../commands/common.js';

/**
 * The server base URL, checked: https anywhere, plain http only on loopback (a runtime token or API key sent in
 * clear over a network is a token given away; signatures protect the packages, not the credential).
 */
export function serverUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('--server must be a URL such as https://rampart.example.com');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new UsageError('--server must use https (plain http is allowed for localhost only)');
  return url;
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
