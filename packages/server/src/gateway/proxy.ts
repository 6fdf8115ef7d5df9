import { StringDecoder } from 'node:string_decoder';
import {
  type ChatTextRewrite,
  maskReplacer,
  PII_KINDS,
  type PiiKind,
  PlaceholderMap,
  redactChatMessages,
  redactJsonText,
  redactWith,
  rewriteChatCompletion,
  StreamRedactor,
  StreamRestorer,
} from '@rampart/core/redact';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import type { Route } from './providers.js';
import type { GatewayServices } from './services.js';
import { ChatSseRewriter, type StreamPiece, type StreamPieces } from './sse.js';
import { openCall, relayRetryAfter, sendUpstream } from './upstream.js';

const ALL_KINDS: ReadonlySet<PiiKind> = new Set(PII_KINDS);

const MAX_UPSTREAM_BYTES = 20 * 1024 * 1024;

export interface ChatBody {
  model: string;
  messages: unknown[];
  stream?: boolean | undefined;
  [k: string]: unknown;
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** Upstream-reported counts are untrusted JSON: keep non-negative safe integers only. */
const count = (v: unknown): number | null =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : null;

/**
 * Pulls `usage` out of SSE data lines as they pass (the final chunk carries it with stream_options.include_usage).
 * Lines split across chunks are joined first, so the count of a stream is as exact as the upstream's.
 */
class SseUsage {
  usage: Usage | undefined;
  #rest = '';

  push(text: string): void {
    const lines = (this.#rest + text).split('\n');
    this.#rest = (lines.pop() ?? '').slice(-65_536);
    for (const line of lines) this.#line(line);
  }

  end(): void {
    this.#line(this.#rest);
    this.#rest = '';
  }

  #line(line: string): void {
    if (!line.startsWith('data:') || !line.includes('"usage"')) return;
    try {
      const u = (JSON.parse(line.slice(5)) as { usage?: Usage | null }).usage;
      if (u) this.usage = u;
    } catch {
      // not JSON: no usage on this line
    }
  }
}

/** Chains streaming rewriters: what the first sends on goes into the second. */
function chain(a: StreamPiece | null, b: StreamPiece | null): StreamPiece {
  if (!a || !b) return a ?? b ?? { push: (t) => t, flush: () => '' };
  return { push: (t) => b.push(a.push(t)), flush: () => b.push(a.flush()) + b.flush() };
}

/**
 * What happens to the upstream's answer: with `redactCompletions`, its items are masked (`[EMAIL]`); in
 * reversible mode, the placeholders of this request are then put back (so the caller's own values come back,
 * and only items the model wrote on its own stay masked). Null: the answer passes as is.
 */
export function answerRewriting(
  route: Route,
  map: PlaceholderMap | null,
): { rewrite: ChatTextRewrite; pieces: StreamPieces } | null {
  const mask = route.redactCompletions;
  if (!mask && !map) return null;
  return {
    rewrite: {
      text: (v) => {
        const masked = mask ? redactWith(v, ALL_KINDS, maskReplacer) : v;
        return map ? map.restore(masked) : masked;
      },
      json: (v) => {
        const masked = mask ? redactJsonText(v, ALL_KINDS, maskReplacer) : v;
        return map ? map.restore(masked, true) : masked;
      },
    },
    pieces: {
      text: () => chain(mask ? new StreamRedactor(maskReplacer) : null, map ? new StreamRestorer(map) : null),
      json: () =>
        chain(
          mask ? new StreamRedactor(maskReplacer, { json: true }) : null,
          map ? new StreamRestorer(map, { json: true }) : null,
        ),
    },
  };
}

/**
 * OpenAI-compatible chat completions. The body is forwarded unchanged except `messages`, which are redacted
 * when the key (or, with `inherit`, the org) says so, before the upstream sees them and before anything is
 * logged. Prompts and completions are never logged or audited; the audit row holds usage metadata only.
 *
 * Reversible mode: the placeholders' map is created here, lives in this call's memory only, and is never
 * logged, audited or stored; the answer gets the originals back. `redactCompletions`: the answer is redacted
 * too, streamed or not (see {@link answerRewriting}).
 */
export async function proxyChat(
  s: GatewayServices,
  request: FastifyRequest,
  reply: FastifyReply,
  key: ApiKeyPrincipal,
  body: ChatBody,
): Promise<unknown> {
  const started = performance.now();
  const { routes, route, trail, ticket, timeoutMs } = await openCall(s, request, key, body.model, 'openai');
  const placeholders = route.redact && route.redactionMode === 'reversible' ? new PlaceholderMap() : null;
  const messages = route.redact
    ? redactChatMessages(
        body.messages as Parameters<typeof redactChatMessages>[0],
        placeholders ? { placeholders } : undefined,
      )
    : body.messages;
  const answer = answerRewriting(route, placeholders);
  // Streams ask for the usage chunk (choices: []) at the end, so tokens per minute and spend count streams too.
  const given = body.stream_options;
  const streamOptions = body.stream
    ? {
        stream_options: {
          ...(typeof given === 'object' && given !== null && !Array.isArray(given) ? given : {}),
          include_usage: true,
        },
      }
    : {};
  const payload = JSON.stringify({ ...body, messages, ...streamOptions });

  let status = 0;
  let usage: Usage | undefined;
  const audit = (): Promise<void> => {
    const latencyMs = Math.round(performance.now() - started);
    // Off the response path, batched; the row still lands in the org's hash chain.
    s.usageAudit.enqueue(key.orgId, actorOf(request, { apiKeyId: key.keyId }), {
      orgId: key.orgId,
      action: 'llm.completion',
      target: `model:${body.model.slice(0, 200)}`,
      meta: {
        model: body.model.slice(0, 200),
        provider: trail.provider,
        attempts: trail.attempts,
        region: route.region,
        status,
        stream: body.stream === true,
        redacted: route.redact,
        redactionMode: route.redact ? route.redactionMode : null,
        completionsRedacted: route.redactCompletions,
        latencyMs,
        // Token counts as reported by the upstream (null when it did not say).
        usage: {
          prompt: count(usage?.prompt_tokens),
          completion: count(usage?.completion_tokens),
          total: count(usage?.total_tokens),
        },
      },
    });
    return s.limits.record(ticket, {
      status,
      promptTokens: count(usage?.prompt_tokens) ?? 0,
      completionTokens: count(usage?.completion_tokens) ?? 0,
      latencyMs,
    });
  };

  // Retries and fallback (issue 24 §3) happen in there, before any byte reaches the client; `res` is the answer.
  const res = await sendUpstream(
    s,
    request,
    routes,
    '/chat/completions',
    (r) => ({
      authorization: `Bearer ${r.apiKey}`,
      'content-type': 'application/json',
      accept: body.stream ? 'text/event-stream' : 'application/json',
    }),
    payload,
    timeoutMs,
    trail,
    (st) => {
      status = st;
      audit();
    },
  );
  status = res.status;

  if (body.stream && res.status === 200) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-request-id': request.id,
    });
    const write = async (out: Buffer | string) => {
      if (out.length === 0 || reply.raw.destroyed) return;
      if (!reply.raw.write(out)) {
        // Wait for the client to catch up, or to go away: a stalled-then-closed client must not hang us
        // (and skip the usage audit below).
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
    // Rewriting the answer needs whole characters and whole events; otherwise the bytes pass as they come.
    const sse = answer ? new ChatSseRewriter(answer.pieces) : null;
    const decoder = new StringDecoder('utf8');
    const seen = new SseUsage();
    try {
      for await (const chunk of res.body) {
        seen.push((chunk as Buffer).toString('utf8'));
        if (reply.raw.destroyed) break;
        await write(sse ? sse.push(decoder.write(chunk as Buffer)) : (chunk as Buffer));
      }
      if (sse && !reply.raw.destroyed) await write(sse.push(decoder.end()) + sse.end());
    } catch {
      // Timed out mid-stream, the client went away, or the provider cut the stream. Never switched now (bytes
      // reached the client): the client sees the cut as a closed connection, not as a clean end.
      status = res.timedOut() ? 504 : reply.raw.destroyed ? 499 : 502;
      reply.raw.destroy();
    } finally {
      seen.end();
      usage = seen.usage;
      // Counted before the client sees the end, so its next call meets the tokens of this one.
      try {
        await audit();
      } finally {
        reply.raw.end();
      }
    }
    return reply;
  }

  // Non-streaming (or an upstream error): buffer with a cap and pass the upstream's status and JSON through.
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_UPSTREAM_BYTES) throw new AppError('bad_gateway', 'The provider response is too large');
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    status = res.timedOut() ? 504 : 502;
    audit();
    if (err instanceof AppError) throw err;
    if (res.timedOut())
      throw new AppError('upstream_timeout', `The provider did not answer within ${timeoutMs / 1000} s`);
    throw new AppError('bad_gateway', 'The provider response was cut off');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    audit();
    throw new AppError('bad_gateway', 'The provider answered with something other than JSON');
  }
  usage = (json as { usage?: Usage } | null)?.usage;
  await audit();
  if (answer && res.status >= 200 && res.status < 300) json = rewriteChatCompletion(json, answer.rewrite);
  relayRetryAfter(reply, res);
  return reply.code(res.status).type('application/json; charset=utf-8').send(json);
}
