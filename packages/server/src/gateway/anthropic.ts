/**
 * `POST /v1/messages`, Anthropic's Messages API, streamed or not, to providers of kind `anthropic`, with the same
 * controls as chat: an API key with the `gateway` scope (sent as Anthropic's clients send it, `x-api-key`, or as
 * `Authorization: Bearer`), data residency, the provider key opened per call and sent as `x-api-key`, prompt
 * redaction (system, text blocks, tool_use input, tool_result content; mask or reversible), `redactCompletions`
 * on the answer, and the usage audit. Errors on this route use Anthropic's shape:
 * `{ type: "error", error: { type, message, details: { error_code } }, request_id }`, where `error_code` is
 * Rampart's code (docs/ERRORS.md); an upstream error passes through as the upstream sent it.
 */
import { StringDecoder } from 'node:string_decoder';
import { PlaceholderMap, redactAnthropicRequest, rewriteAnthropicMessage } from '@rampart/core/redact';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer } from '../platform/params.js';
import { MessagesSseRewriter, MessagesUsage } from './anthropic-sse.js';
import { answerRewriting } from './proxy.js';
import type { GatewayServices } from './services.js';
import { count, openCall, readUpstreamJson, relayRetryAfter, sendUpstream, startSse } from './upstream.js';

/** The `anthropic-version` sent when the caller sends none. */
export const ANTHROPIC_VERSION = '2023-06-01';

const block = z.looseObject({ type: z.string().min(1).max(50) });
const content = z.union([z.string(), z.array(block).max(10_000)]);
// Anthropic's wire format: we validate what we route and redact on, and pass every other field through unchanged.
export const messagesBody = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z
    .array(z.looseObject({ role: z.string().min(1).max(50), content }))
    .min(1)
    .max(2_000),
  system: content.optional(),
  stream: z.boolean().optional(),
});
export type MessagesBody = z.infer<typeof messagesBody>;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Anthropic's error `type` for a status. */
function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 409:
      return 'conflict_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
  }
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** Answers whose body is the upstream's own (passed through, never reshaped). */
const upstreamBodies = new WeakSet<FastifyRequest>();

/**
 * Route-level onSend: Rampart's `{ error, message, ...details }` becomes Anthropic's error shape, whatever raised
 * it (auth, validation, routing, timeouts, body limits), with Rampart's code as `error.details.error_code`. The
 * request id also goes out as `request-id`, where Anthropic's SDK reads it.
 */
async function anthropicErrors(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  reply.header('request-id', request.id);
  if (reply.statusCode < 400 || upstreamBodies.has(request) || typeof payload !== 'string') return payload;
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (!isObject(body) || typeof body.error !== 'string') return payload;
  const { error, message, requestId: _, ...details } = body;
  return JSON.stringify({
    type: 'error',
    error: {
      type: errorType(reply.statusCode),
      message: typeof message === 'string' ? message : 'Request failed',
      details: { error_code: error, ...details },
    },
    request_id: request.id,
  });
}

const VERSION = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const BETA = /^[A-Za-z0-9._-]{1,100}(?: *, *[A-Za-z0-9._-]{1,100}){0,19}$/;

/**
 * The headers for the provider: its key as `x-api-key`, the caller's `anthropic-version` (else
 * {@link ANTHROPIC_VERSION}) and `anthropic-beta`. Nothing else of the caller's (its own key least of all).
 * @throws AppError validation_failed (a malformed version or beta header)
 */
function upstreamHeaders(request: FastifyRequest): Record<string, string> {
  const version = request.headers['anthropic-version'];
  const beta = request.headers['anthropic-beta'];
  if (version !== undefined && (typeof version !== 'string' || !VERSION.test(version)))
    throw new AppError('validation_failed', 'anthropic-version must be a date such as 2023-06-01');
  if (beta !== undefined && (typeof beta !== 'string' || !BETA.test(beta)))
    throw new AppError('validation_failed', 'anthropic-beta must be a comma-separated list of beta names');
  return {
    'anthropic-version': version ?? ANTHROPIC_VERSION,
    ...(beta ? { 'anthropic-beta': beta } : {}),
    'content-type': 'application/json',
  };
}

/**
 * One Messages API call: `messages` (a completion, streamed or not) or `count_tokens` (the same body, answered with
 * `{ input_tokens }`; never streamed, nothing to rewrite on the way back, so prompts get the fixed placeholders).
 */
async function proxyMessages(
  s: GatewayServices,
  request: FastifyRequest,
  reply: FastifyReply,
  key: ApiKeyPrincipal,
  body: MessagesBody,
  op: 'messages' | 'count_tokens' = 'messages',
): Promise<unknown> {
  const counting = op === 'count_tokens';
  const started = performance.now();
  const callerHeaders = upstreamHeaders(request);
  // count_tokens counts as a request against the limits; its token count is not usage, so it records none.
  const { routes, route, trail, ticket, timeoutMs } = await openCall(
    s,
    request,
    key,
    body.model,
    'anthropic',
  );
  // Reversible mode: the map lives in this call's memory only, never logged, audited or stored.
  const placeholders =
    route.redact && route.redactionMode === 'reversible' && !counting ? new PlaceholderMap() : null;
  const sent = route.redact
    ? redactAnthropicRequest(body, placeholders ? { placeholders } : undefined)
    : body;
  const answer = counting ? null : answerRewriting(route, placeholders);
  const payload = JSON.stringify(sent);
  const stream = body.stream === true && !counting;

  let status = 0;
  const usage = new MessagesUsage();
  let audited = false;
  const audit = (): Promise<void> => {
    if (audited) return Promise.resolve();
    audited = true;
    const latencyMs = Math.round(performance.now() - started);
    const u = usage.usage;
    const prompt = count(u?.input_tokens);
    const completion = count(u?.output_tokens);
    s.usageAudit.enqueue(key.orgId, actorOf(request, { apiKeyId: key.keyId }), {
      orgId: key.orgId,
      action: counting ? 'llm.count_tokens' : 'llm.completion',
      target: `model:${body.model.slice(0, 200)}`,
      meta: {
        api: op,
        model: body.model.slice(0, 200),
        provider: trail.provider,
        attempts: trail.attempts,
        region: route.region,
        status,
        stream,
        redacted: route.redact,
        redactionMode: route.redact ? (counting ? 'mask' : route.redactionMode) : null,
        completionsRedacted: route.redactCompletions,
        latencyMs,
        usage: {
          prompt,
          completion,
          total: prompt !== null && completion !== null ? prompt + completion : null,
          cacheRead: count(u?.cache_read_input_tokens),
          cacheWrite: count(u?.cache_creation_input_tokens),
        },
        ...(usage.streamError ? { streamError: usage.streamError } : {}),
      },
    });
    return s.limits.record(ticket, {
      status,
      promptTokens: counting ? 0 : (prompt ?? 0),
      completionTokens: counting ? 0 : (completion ?? 0),
      latencyMs,
    });
  };
  const failed = (st: number) => {
    status = st;
    void audit();
  };

  const up = await sendUpstream(
    s,
    request,
    routes,
    `/v1/messages${counting ? '/count_tokens' : ''}`,
    (r) => ({
      'x-api-key': r.apiKey,
      ...callerHeaders,
      accept: stream ? 'text/event-stream' : 'application/json',
    }),
    payload,
    timeoutMs,
    trail,
    failed,
  );
  status = up.status;

  if (stream && status === 200) {
    const write = startSse(request, reply, { 'request-id': request.id });
    // Rewriting the answer needs whole characters and whole events; otherwise the bytes pass as they come.
    const sse = answer ? new MessagesSseRewriter(answer.pieces, answer.rewrite) : null;
    const decoder = new StringDecoder('utf8');
    try {
      for await (const chunk of up.body) {
        const text = decoder.write(chunk as Buffer);
        usage.push(text);
        if (reply.raw.destroyed) break;
        await write(sse ? sse.push(text) : (chunk as Buffer));
      }
      const rest = decoder.end();
      usage.push(`${rest}\n`);
      if (sse && !reply.raw.destroyed) await write(sse.push(rest) + sse.end());
    } catch {
      // Timed out mid-stream, the client went away, or the provider cut the stream. Never switched now (bytes
      // reached the client): the client sees the cut as a closed connection, not as a clean end.
      status = up.timedOut() ? 504 : reply.raw.destroyed ? 499 : 502;
      reply.raw.destroy();
    } finally {
      // Recorded before the end, so the caller's next call already counts these tokens.
      await audit();
      reply.raw.end();
    }
    return reply;
  }

  // Non-streaming (or an upstream error): its status and JSON pass through; a 2xx answer is rewritten if need be.
  let json = await readUpstreamJson(up, failed);
  upstreamBodies.add(request);
  relayRetryAfter(reply, up);
  if (status >= 200 && status < 300) {
    if (counting) usage.usage = isObject(json) ? { input_tokens: json.input_tokens } : undefined;
    else usage.fromMessage(json);
    if (answer) json = rewriteAnthropicMessage(json, answer.rewrite);
  }
  await audit();
  return reply.code(status).type('application/json; charset=utf-8').send(json);
}

export function registerAnthropicRoutes(app: App, s: GatewayServices): void {
  app.post(
    '/v1/messages',
    {
      onSend: anthropicErrors,
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary:
          'Anthropic-compatible Messages API (API key as x-api-key or Bearer) to anthropic-kind providers, streaming or not, with PII redaction and data residency',
        body: messagesBody,
      },
    },
    async (request, reply) => {
      const key = await s.auth.apiKeyOrXApiKey(request, 'gateway');
      return proxyMessages(s, request, reply, key, request.body);
    },
  );

  app.post(
    '/v1/messages/count_tokens',
    {
      onSend: anthropicErrors,
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary:
          "Anthropic-compatible token count of a Messages request (API key as x-api-key or Bearer), redacted as /v1/messages's prompts are",
        body: messagesBody,
      },
    },
    async (request, reply) => {
      const key = await s.auth.apiKeyOrXApiKey(request, 'gateway');
      return proxyMessages(s, request, reply, key, request.body, 'count_tokens');
    },
  );
}
