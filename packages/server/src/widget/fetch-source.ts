import { AppError } from '../platform/errors.js';
import type { GuardedAgent } from '../platform/outbound/dispatcher.js';
import { guardedFetch } from '../platform/outbound/fetch.js';
import type { OutboundPolicy } from '../platform/outbound/policy.js';
import { checkOutboundUrl } from '../platform/outbound/url.js';

/** A URL ingest gives up after this long (connect, redirects and body together). */
export const SOURCE_TIMEOUT_MS = 15_000;
/** Redirects followed, each hop through the outbound guard. */
export const SOURCE_MAX_REDIRECTS = 3;

export interface FetchedSource {
  kind: 'html' | 'pdf';
  bytes: Buffer;
  contentType: string;
}

/**
 * Fetches a web page (or a PDF) to ingest, through the outbound guard: private, loopback and metadata addresses
 * are refused (unless RAMPART_OUTBOUND_ALLOW lists them), on the first hop and on every redirect. The body is
 * capped at `maxBytes`; only `text/html`, `application/xhtml+xml` and `application/pdf` are taken.
 * @throws AppError validation_failed (not an absolute public http(s) URL, or the guard refused the address) |
 *   bad_gateway (unreachable, an HTTP error, too many redirects) | upstream_timeout | payload_too_large |
 *   unsupported_media_type
 */
export async function fetchSource(
  agent: GuardedAgent,
  policy: OutboundPolicy,
  url: string,
  maxBytes: number,
  timeoutMs = SOURCE_TIMEOUT_MS,
): Promise<FetchedSource> {
  const u = checkOutboundUrl(url, policy, { field: 'url', allowQuery: true });
  let res: Awaited<ReturnType<typeof guardedFetch>>;
  try {
    res = await guardedFetch(agent, u.toString(), {
      headers: {
        accept: 'text/html,application/xhtml+xml,application/pdf;q=0.9',
        'user-agent': 'Rampart-Widget-Ingest/1',
      },
      timeoutMs,
      maxBytes,
      maxRedirects: SOURCE_MAX_REDIRECTS,
    });
  } catch (err) {
    const e = err as Error & { cause?: { name?: string; code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new AppError('upstream_timeout', `The page did not answer within ${timeoutMs / 1000} s`);
    if (e.message === 'too many redirects')
      throw new AppError('bad_gateway', `The page redirected more than ${SOURCE_MAX_REDIRECTS} times`);
    if (e.cause?.name === 'OutboundBlockedError' || e.cause?.code === 'OUTBOUND_BLOCKED')
      throw new AppError('validation_failed', 'url (or a redirect) points to a non-public address');
    throw new AppError('bad_gateway', 'The page could not be fetched');
  }
  if (res.status !== 200) throw new AppError('bad_gateway', `The page answered HTTP ${res.status}`);
  if (res.truncated)
    throw new AppError(
      'payload_too_large',
      `The page is over ${maxBytes} bytes; a document may hold at most that`,
    );
  const contentType = res.headers.get('content-type') ?? '';
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const kind =
    mime === 'text/html' || mime === 'application/xhtml+xml'
      ? 'html'
      : mime === 'application/pdf'
        ? 'pdf'
        : null;
  if (!kind)
    throw new AppError(
      'unsupported_media_type',
      'The page is not HTML or PDF (content-type text/html, application/xhtml+xml or application/pdf)',
    );
  return { kind, bytes: res.body, contentType };
}
