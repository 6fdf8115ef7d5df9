import { fetch as undiciFetch } from 'undici';
import type { GuardedAgent } from './dispatcher.js';

export interface GuardedResponse {
  status: number;
  headers: Headers;
  /** The body, at most `maxBytes`; `truncated` says whether more was there. */
  body: Buffer;
  truncated: boolean;
}

export interface GuardedFetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
  maxRedirects?: number;
  /** More header names (any case) that hold credentials and must not follow a cross-origin redirect. */
  sensitiveHeaders?: readonly string[];
}

/**
 * fetch through a guarded agent with a deadline and a response-size cap (the rest of the body is discarded, not
 * buffered). Redirects are followed by hand, each hop through the same guard, at most `maxRedirects` (5).
 * @throws Error from the guard (OutboundBlockedError as cause), the timeout (AbortError) or the network
 */
export async function guardedFetch(
  agent: GuardedAgent,
  url: string,
  opts: GuardedFetchOptions,
): Promise<GuardedResponse> {
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)])
    : AbortSignal.timeout(opts.timeoutMs);
  let current = url;
  let method = opts.method ?? 'GET';
  let body = opts.body;
  let headers = opts.headers;
  const sensitive = new Set((opts.sensitiveHeaders ?? []).map((h) => h.toLowerCase()));
  for (let hop = 0; ; hop++) {
    const res = await undiciFetch(current, {
      method,
      ...(headers ? { headers } : {}),
      ...(body !== undefined ? { body } : {}),
      redirect: 'manual',
      signal,
      dispatcher: agent,
    });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      if (hop >= (opts.maxRedirects ?? 5)) throw new Error('too many redirects');
      const next = new URL(location, current);
      if (next.origin !== new URL(current).origin && headers) {
        // Credentials and signatures were meant for the first origin only.
        headers = Object.fromEntries(
          Object.entries(headers).filter(
            ([k]) =>
              !sensitive.has(k.toLowerCase()) &&
              !/^(authorization|cookie|proxy-authorization|x-api-key|webhook-signature|x-signature)$/i.test(
                k,
              ),
          ),
        );
      }
      current = next.toString();
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const room = opts.maxBytes - size;
        if (value.byteLength > room) {
          if (room > 0) chunks.push(Buffer.from(value.subarray(0, room)));
          size = opts.maxBytes;
          truncated = true;
          await reader.cancel();
          break;
        }
        chunks.push(Buffer.from(value));
        size += value.byteLength;
      }
    }
    return {
      status: res.status,
      headers: res.headers as unknown as Headers,
      body: Buffer.concat(chunks),
      truncated,
    };
  }
}
