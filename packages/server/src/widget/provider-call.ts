import type { Route } from '../gateway/providers.js';
import type { GatewayServices } from '../gateway/services.js';
import { AppError } from '../platform/errors.js';
import { guardedFetch } from '../platform/outbound/fetch.js';
import { credentialTransport } from '../platform/outbound/transport.js';

/**
 * One JSON POST to the org's provider for the widget (chat completions, embeddings): through the outbound guard,
 * never over plain http (it carries the provider key, opened for this call only), no redirects, bounded in time
 * and size. Returns the body of a 200 answer.
 * @param what names the provider in errors ("model", "embedding")
 * @throws AppError bad_gateway (misconfigured, unreachable, not 200, too large) | upstream_timeout
 */
export async function postToProvider(
  s: GatewayServices,
  route: Pick<Route, 'baseUrl' | 'apiKey'>,
  path: '/chat/completions' | '/embeddings',
  body: string,
  opts: { timeoutMs: number; maxBytes: number; what: 'model' | 'embedding' },
): Promise<string> {
  const url = `${route.baseUrl}${path}`;
  if (!credentialTransport(new URL(url), s.outboundPolicy).ok)
    throw new AppError('bad_gateway', `The ${opts.what} provider is misconfigured (plain http base URL)`);
  let res: Awaited<ReturnType<typeof guardedFetch>>;
  try {
    res = await guardedFetch(s.outbound, url, {
      method: 'POST',
      headers: { authorization: `Bearer ${route.apiKey}`, 'content-type': 'application/json' },
      body,
      timeoutMs: opts.timeoutMs,
      maxBytes: opts.maxBytes,
      maxRedirects: 0,
    });
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new AppError(
        'upstream_timeout',
        `The ${opts.what} provider did not answer within ${opts.timeoutMs / 1000} s`,
      );
    throw new AppError('bad_gateway', `The ${opts.what} provider could not be reached`);
  }
  if (res.status !== 200 || res.truncated)
    throw new AppError('bad_gateway', `The ${opts.what} provider answered ${res.status}`);
  return res.body.toString('utf8');
}
