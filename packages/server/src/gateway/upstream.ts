/**
 * The outbound half shared by the gateway routes: the send-time transport check, the call with its timeout, the
 * retries and fallback across providers (issue 24 §3), the error mapping, reading a capped JSON answer, and
 * writing a stream to a hijacked reply with backpressure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { AppError } from '../platform/errors.js';
import { credentialTransport } from '../platform/outbound/transport.js';
import { type ProviderKind, type Route, routesFor } from './providers.js';
import { loadRouting } from './route-cache.js';
import type { GatewayServices } from './services.js';

/**
 * The opening every gateway call shares (chat, messages, embeddings): backpressure from the usage-audit queue (wait
 * for the writer, or 503 rather than queue yet another row), the org's routing, the ordered providers for the model
 * (the key's or org's fallback list, else the one provider of the model: issue 24 §3), the key's and org's budgets
 * and rates (refused here, before any upstream call), and the HTTP deadline just past the upstream timeout, so a
 * client gets upstream_timeout rather than request_timeout.
 * @throws AppError not_found | region_not_allowed | validation_failed (routing) | rate_limited | budget_exceeded
 */
export async function openCall(
  s: GatewayServices,
  request: FastifyRequest,
  key: ApiKeyPrincipal,
  model: string,
  kind: ProviderKind,
) {
  await s.usageAudit.admit(key.orgId);
  const routing = await s.routing.get(key.orgId, () => s.db.org(key.orgId, (q) => loadRouting(q, key.orgId)));
  if (!routing) throw new AppError('not_found', 'Org not found');
  const routes = routesFor(routing, s.ring, key.orgId, model, key.region, key, kind);
  const route = routes[0] as Route;
  const trail = new Trail(route);
  const ticket = await s.limits.admit(key, model, route.providerId);
  const timeoutMs = routes.some((r) => r.reasoning)
    ? s.config.RAMPART_GATEWAY_REASONING_TIMEOUT_MS
    : s.config.RAMPART_GATEWAY_TIMEOUT_MS;
  request.setDeadline(timeoutMs + 2_000);
  return { routes, route, trail, ticket, timeoutMs };
}

export const MAX_UPSTREAM_BYTES = 20 * 1024 * 1024;
/** An error answer (429, 5xx) is read whole before the next attempt: at most this much of it is kept. */
const MAX_ERROR_BYTES = 1024 * 1024;
/** The pause before the retry on the same provider: uniform in [MIN, MAX) ms, so callers do not retry in step. */
export const RETRY_DELAY_MIN_MS = 100;
export const RETRY_DELAY_MAX_MS = 300;
/** A longer Retry-After than this is not waited for: the next provider is tried at once. */
export const RETRY_AFTER_CAP_MS = 2_000;

/** One try of one provider, as the usage audit records it: the status it answered, or why it did not. */
export interface Attempt {
  provider: string;
  status?: number;
  /** `connect`: refused, reset or cut before the answer began; `timeout`; `blocked`: the outbound guard refused
   * the address; `insecure`: plain http with a key (not sent); `cancelled`: the client left. */
  error?: 'connect' | 'timeout' | 'blocked' | 'insecure' | 'cancelled';
}

/** Which provider answered (or was tried last) and every attempt, for the usage audit. */
export class Trail {
  provider: string;
  readonly attempts: Attempt[] = [];
  constructor(first: Route) {
    this.provider = first.providerName;
  }
  add(a: Attempt): void {
    this.provider = a.provider;
    this.attempts.push(a);
  }
}

/** The answer of the provider that answered: its status, headers and body (never switched after this). */
export interface Upstream {
  route: Route;
  status: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<Buffer>;
  timedOut: () => boolean;
  timeoutMs: number;
}

/** What the upstream asks us to wait, in ms (`retry-after-ms`, else `retry-after` in seconds or as a date). */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | null {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const ms = one(headers['retry-after-ms']);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const ra = one(headers['retry-after'])?.trim();
  if (!ra) return null;
  if (/^\d+$/.test(ra)) return Number(ra) * 1000;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const retryable = (status: number) => status === 429 || (status >= 500 && status <= 599);

/** Reads an error answer (capped); null when it was cut off. */
async function drain(body: AsyncIterable<Buffer>): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size < MAX_ERROR_BYTES) chunks.push(chunk.subarray(0, MAX_ERROR_BYTES - size));
      size += chunk.length;
    }
  } catch {
    return null;
  }
  return Buffer.concat(chunks);
}

async function* replay(buf: Buffer): AsyncGenerator<Buffer> {
  if (buf.length) yield buf;
}

/** The body again, its first chunk (already read) first; leaving early destroys the upstream body. */
async function* resume(
  first: IteratorResult<Buffer>,
  it: AsyncIterator<Buffer>,
): AsyncGenerator<Buffer, void, undefined> {
  try {
    if (first.done) return;
    yield first.value;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  } finally {
    await it.return?.();
  }
}

/**
 * Sends `payload` to `routes` in order (issue 24 §3). On a 429, a 5xx, or a connection error before the answer
 * began (refused, reset, or the socket closed before the first byte of a 2xx body), the same provider is tried
 * once more after a jittered pause ({@link RETRY_DELAY_MIN_MS}–{@link RETRY_DELAY_MAX_MS} ms, or the upstream's
 * Retry-After when it is at most {@link RETRY_AFTER_CAP_MS}; a longer one skips the retry), then the next
 * provider. Any other answer (2xx, or a 4xx other than 429) is the answer: its first body byte is awaited here,
 * so the caller streams from a provider that has started, and nothing switches after that. One timeout covers
 * every attempt (the request deadline sits past it), so retries never outlive the request; a timeout or the
 * client leaving ends the attempts. The transport is checked per provider at send time: a provider saved before
 * the https rule (or an allow-list since narrowed) must not receive its key in the clear.
 *
 * When every attempt failed with an answer, the last answer is returned (its status and body pass through);
 * when the last failed without one, `failed(status)` runs first (for the usage audit) and this throws.
 * @throws AppError validation_failed | upstream_timeout | request_timeout | bad_gateway
 */
export async function sendUpstream(
  s: GatewayServices,
  request: FastifyRequest,
  routes: readonly Route[],
  path: string,
  headers: (route: Route) => Record<string, string>,
  payload: string,
  timeoutMs: number,
  trail: Trail,
  failed: (status: number) => void,
): Promise<Upstream> {
  const upstreamTimeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([request.deadlineSignal, upstreamTimeout]);
  const timedOut = () => upstreamTimeout.aborted;
  const ends = Date.now() + timeoutMs;
  /** Ends the attempts: the budget is spent or the client left. */
  const stop = (provider: string): never => {
    const timeout = upstreamTimeout.aborted;
    trail.add({ provider, error: timeout ? 'timeout' : 'cancelled' });
    failed(timeout ? 504 : 499);
    if (timeout)
      throw new AppError('upstream_timeout', `The provider did not answer within ${timeoutMs / 1000} s`);
    throw new AppError('request_timeout', 'The request was cancelled');
  };
  let last: { answer: Upstream } | { error: AppError; status: number } | undefined;

  for (const route of routes) {
    const url = new URL(`${route.baseUrl}${path}`);
    if (!credentialTransport(url, s.outboundPolicy).ok) {
      trail.add({ provider: route.providerName, error: 'insecure' });
      last = {
        status: 400,
        error: new AppError(
          'validation_failed',
          `provider ${route.providerName} has a plain http:// baseUrl and would receive its API key in the clear; set an https baseUrl (http is allowed only to loopback or hosts on RAMPART_OUTBOUND_ALLOW)`,
        ),
      };
      continue;
    }
    /** One try: the answer, or how long to wait before trying this provider again (null: do not). */
    const once = async (): Promise<{ answer: Upstream } | { wait: number | null }> => {
      let res: Dispatcher.ResponseData;
      try {
        res = await s.outbound.request({
          origin: url.origin,
          path: url.pathname,
          method: 'POST',
          headers: headers(route),
          body: payload,
          signal,
        });
      } catch (err) {
        if (signal.aborted) stop(route.providerName);
        const blocked =
          (err as { code?: string }).code === 'OUTBOUND_BLOCKED' ||
          (err as Error).name === 'OutboundBlockedError';
        trail.add({ provider: route.providerName, error: blocked ? 'blocked' : 'connect' });
        const message = blocked ? 'The provider address is not allowed' : 'The provider could not be reached';
        last = { status: 502, error: new AppError('bad_gateway', message) };
        return { wait: blocked ? null : 0 }; // a blocked address is refused again
      }
      const answer = (body: AsyncIterable<Buffer>): Upstream => ({
        route,
        status: res.statusCode,
        headers: res.headers,
        body,
        timedOut,
        timeoutMs,
      });
      if (retryable(res.statusCode)) {
        const body = await drain(res.body as AsyncIterable<Buffer>);
        if (signal.aborted) stop(route.providerName);
        trail.add({ provider: route.providerName, status: res.statusCode });
        last =
          body === null
            ? { status: 502, error: new AppError('bad_gateway', 'The provider response was cut off') }
            : { answer: answer(replay(body)) };
        return { wait: retryAfterMs(res.headers) ?? 0 };
      }
      // The answer. Its first byte is awaited here: a connection that closes before it is still a failed try.
      const it = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      try {
        const first = await it.next();
        trail.add({ provider: route.providerName, status: res.statusCode });
        return { answer: answer(resume(first, it)) };
      } catch {
        if (signal.aborted) stop(route.providerName);
        trail.add({ provider: route.providerName, error: 'connect' });
        last = { status: 502, error: new AppError('bad_gateway', 'The provider response was cut off') };
        return { wait: 0 };
      }
    };

    for (let attempt = 1; attempt <= 2; attempt++) {
      const out = await once();
      if ('answer' in out) return out.answer;
      if (attempt === 2 || out.wait === null || out.wait > RETRY_AFTER_CAP_MS) break;
      const jitter = RETRY_DELAY_MIN_MS + Math.random() * (RETRY_DELAY_MAX_MS - RETRY_DELAY_MIN_MS);
      const pause = Math.max(out.wait, jitter);
      if (Date.now() + pause >= ends) break; // no time left for this retry: the next provider, if any
      try {
        await sleep(pause, undefined, { signal });
      } catch {
        stop(route.providerName);
      }
    }
  }
  if (last && 'answer' in last) return last.answer;
  const end = last ?? { status: 502, error: new AppError('bad_gateway', 'No provider could be tried') };
  failed(end.status);
  throw end.error;
}

/**
 * Reads a whole JSON answer (at most {@link MAX_UPSTREAM_BYTES}). On failure `failed(status)` runs first.
 * @throws AppError bad_gateway | upstream_timeout
 */
export async function readUpstreamJson(up: Upstream, failed: (status: number) => void): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of up.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_UPSTREAM_BYTES) throw new AppError('bad_gateway', 'The provider response is too large');
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    failed(up.timedOut() ? 504 : 502);
    if (err instanceof AppError) throw err;
    if (up.timedOut())
      throw new AppError('upstream_timeout', `The provider did not answer within ${up.timeoutMs / 1000} s`);
    throw new AppError('bad_gateway', 'The provider response was cut off');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    failed(502);
    throw new AppError('bad_gateway', 'The provider answered with something other than JSON');
  }
}

/** Starts a hijacked SSE answer and returns a writer that waits for the client (or for it to go away). */
export function startSse(
  request: FastifyRequest,
  reply: FastifyReply,
  extraHeaders: Record<string, string> = {},
): (out: Buffer | string) => Promise<void> {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-request-id': request.id,
    ...extraHeaders,
  });
  return async (out) => {
    if (out.length === 0 || reply.raw.destroyed) return;
    if (!reply.raw.write(out)) {
      // A stalled-then-closed client must not hang us (and skip the usage audit).
      await new Promise<void>((r) => {
        const done = () => {
          reply.raw.off('drain', done);
          reply.raw.off('close', done);
          r();
        };
        reply.raw.once('drain', done);
        reply.raw.once('close', done);
      });
    }
  };
}

/** Upstream-reported counts are untrusted JSON: keep non-negative safe integers only. */
export const count = (v: unknown): number | null =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : null;

/** An upstream 429 or 503 passed through keeps its Retry-After (a number of seconds or a date, nothing else). */
export function relayRetryAfter(reply: FastifyReply, up: Upstream): void {
  const v = up.headers['retry-after'];
  if ((up.status === 429 || up.status === 503) && typeof v === 'string' && /^[\w ,:-]{1,64}$/.test(v))
    reply.header('retry-after', v);
}
