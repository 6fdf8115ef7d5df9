/**
 * The outbound half shared by the embeddings and messages routes (the chat route has its own copy in proxy.ts):
 * the send-time transport check, the call with its timeout and the error mapping, reading a capped JSON answer,
 * and writing a stream to a hijacked reply with backpressure.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { AppError } from '../platform/errors.js';
import { credentialTransport } from '../platform/outbound/transport.js';
import type { Route } from './providers.js';
import type { GatewayServices } from './services.js';

export const MAX_UPSTREAM_BYTES = 20 * 1024 * 1024;

/** One upstream call: its timeout signal (to tell a timeout from a client that left) and what it gave. */
export interface Upstream {
  res: Dispatcher.ResponseData;
  timedOut: () => boolean;
  timeoutMs: number;
}

/**
 * Checks the transport again at send time (a provider saved before the https rule, or an allow-list since
 * narrowed, must not receive its API key in the clear), then sends. On failure, `failed(status)` runs first
 * (for the usage audit) with 504 or 502.
 * @throws AppError validation_failed | upstream_timeout | request_timeout | bad_gateway
 */
export async function sendUpstream(
  s: GatewayServices,
  request: FastifyRequest,
  route: Route,
  url: URL,
  headers: Record<string, string>,
  payload: string,
  timeoutMs: number,
  failed: (status: number) => void,
): Promise<Upstream> {
  if (!credentialTransport(url, s.outboundPolicy).ok)
    throw new AppError(
      'validation_failed',
      `provider ${route.providerName} has a plain http:// baseUrl and would receive its API key in the clear; set an https baseUrl (http is allowed only to loopback or hosts on RAMPART_OUTBOUND_ALLOW)`,
    );
  const upstreamTimeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([request.deadlineSignal, upstreamTimeout]);
  try {
    const res = await s.outbound.request({
      origin: url.origin,
      path: url.pathname,
      method: 'POST',
      headers,
      body: payload,
      signal,
    });
    return { res, timedOut: () => upstreamTimeout.aborted, timeoutMs };
  } catch (err) {
    failed(upstreamTimeout.aborted ? 504 : 502);
    if (upstreamTimeout.aborted)
      throw new AppError('upstream_timeout', `The provider did not answer within ${timeoutMs / 1000} s`);
    if (request.deadlineSignal.aborted) throw new AppError('request_timeout', 'The request was cancelled');
    const blocked =
      (err as { code?: string }).code === 'OUTBOUND_BLOCKED' ||
      (err as Error).name === 'OutboundBlockedError';
    throw new AppError(
      'bad_gateway',
      blocked ? 'The provider address is not allowed' : 'The provider could not be reached',
    );
  }
}

/**
 * Reads a whole JSON answer (at most {@link MAX_UPSTREAM_BYTES}). On failure `failed(status)` runs first.
 * @throws AppError bad_gateway | upstream_timeout
 */
export async function readUpstreamJson(up: Upstream, failed: (status: number) => void): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of up.res.body) {
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
