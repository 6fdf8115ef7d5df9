/**
 * `POST /v1/embeddings`, OpenAI's format, to providers of kind `openai`: the same controls as chat (an API key with
 * the `gateway` scope, data residency, the provider key opened per call, prompt redaction, the usage audit).
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { maskReplacer, PII_KINDS, type PiiKind, redactWith } from '@rampart/core/redact';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer } from '../platform/params.js';
import type { GatewayServices } from './services.js';
import { count, openCall, readUpstreamJson, relayRetryAfter, sendUpstream } from './upstream.js';

const ALL_KINDS: ReadonlySet<PiiKind> = new Set(PII_KINDS);
/** OpenAI's limit on inputs per request. */
const MAX_INPUTS = 2_048;

const token = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
// OpenAI's wire format: we validate what we route and redact on, and pass every other field through unchanged.
export const embeddingsBody = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(MAX_INPUTS),
    z.array(token).min(1),
    z.array(z.array(token).min(1)).min(1).max(MAX_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).max(65_536).optional(),
  user: z.string().max(256).optional(),
});
export type EmbeddingsBody = z.infer<typeof embeddingsBody>;

/** Bytes kept from each end of an answer to find its `usage` without buffering the vectors. */
const EDGE = 8 * 1024;
const USAGE = /"usage"\s*:\s*(\{[^{}]*\})/;

/** Finds `usage` at the start or the end of a streamed JSON answer (OpenAI puts it last). */
class UsageScan {
  #head = Buffer.alloc(0);
  #tail = Buffer.alloc(0);

  push(chunk: Buffer): void {
    if (this.#head.length < EDGE)
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, EDGE - this.#head.length)]);
    const tail = Buffer.concat([this.#tail, chunk]);
    this.#tail = tail.length > EDGE ? tail.subarray(tail.length - EDGE) : tail;
  }

  usage(): { prompt_tokens?: unknown; total_tokens?: unknown } | undefined {
    for (const b of [this.#tail, this.#head]) {
      const m = USAGE.exec(b.toString('utf8'));
      if (!m) continue;
      try {
        return JSON.parse(m[1] as string) as { prompt_tokens?: unknown; total_tokens?: unknown };
      } catch {
        // not this one
      }
    }
    return undefined;
  }
}

/**
 * Redacts the inputs when the key (or org) says so. Always the fixed placeholders (`[EMAIL]`): a vector brings
 * nothing back to restore, and numbered placeholders would make the same text embed differently by position.
 * Token arrays cannot be read, so they are refused while redaction is on.
 * @throws AppError validation_failed
 */
function redactInput(input: EmbeddingsBody['input']): EmbeddingsBody['input'] {
  if (typeof input === 'string') return redactWith(input, ALL_KINDS, maskReplacer);
  if (input.every((x) => typeof x === 'string'))
    return (input as string[]).map((x) => redactWith(x, ALL_KINDS, maskReplacer));
  throw new AppError(
    'validation_failed',
    'Token-array inputs cannot be checked for personal data, and this key (or its org) redacts prompts: send the input as text',
  );
}

async function proxyEmbeddings(
  s: GatewayServices,
  request: FastifyRequest,
  reply: FastifyReply,
  key: ApiKeyPrincipal,
  body: EmbeddingsBody,
): Promise<unknown> {
  const started = performance.now();
  const { routes, route, trail, ticket, timeoutMs } = await openCall(s, request, key, body.model, 'openai');
  const input = route.redact ? redactInput(body.input) : body.input;
  const payload = JSON.stringify({ ...body, input });

  let status = 0;
  let usage: { prompt_tokens?: unknown; total_tokens?: unknown } | undefined;
  let audited = false;
  const audit = (): Promise<void> => {
    if (audited) return Promise.resolve();
    audited = true;
    const latencyMs = Math.round(performance.now() - started);
    s.usageAudit.enqueue(key.orgId, actorOf(request, { apiKeyId: key.keyId }), {
      orgId: key.orgId,
      action: 'llm.embedding',
      target: `model:${body.model.slice(0, 200)}`,
      meta: {
        api: 'embeddings',
        model: body.model.slice(0, 200),
        provider: trail.provider,
        attempts: trail.attempts,
        region: route.region,
        status,
        inputs: typeof body.input === 'string' || typeof body.input[0] === 'number' ? 1 : body.input.length,
        redacted: route.redact,
        latencyMs,
        usage: { prompt: count(usage?.prompt_tokens), total: count(usage?.total_tokens) },
      },
    });
    return s.limits.record(ticket, {
      status,
      promptTokens: count(usage?.prompt_tokens) ?? 0,
      completionTokens: 0,
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
    '/embeddings',
    (r) => ({
      authorization: `Bearer ${r.apiKey}`,
      'content-type': 'application/json',
      accept: 'application/json',
    }),
    payload,
    timeoutMs,
    trail,
    failed,
  );
  status = up.status;

  if (status < 200 || status >= 300) {
    // An upstream error: small; its status and JSON pass through as they are.
    const json = await readUpstreamJson(up, failed);
    await audit();
    relayRetryAfter(reply, up);
    return reply.code(status).type('application/json; charset=utf-8').send(json);
  }

  // The vectors can be tens of MB (2,048 inputs of 3,072 floats): stream them through, reading usage off the ends.
  const scan = new UsageScan();
  const relay = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      scan.push(chunk);
      cb(null, chunk);
    },
  });
  pipeline(up.body, relay)
    .catch(() => {
      status = up.timedOut() ? 504 : request.deadlineSignal.aborted ? 499 : 502;
    })
    .finally(() => {
      usage = scan.usage();
      void audit();
    });
  return reply.code(status).type('application/json; charset=utf-8').send(relay);
}

export function registerEmbeddingsRoutes(app: App, s: GatewayServices): void {
  app.post(
    '/v1/embeddings',
    {
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary:
          'OpenAI-compatible embeddings (API key) to openai-kind providers, with PII redaction of text inputs and data residency',
        body: embeddingsBody,
      },
    },
    async (request, reply) => {
      const key = await s.auth.apiKey(request, 'gateway');
      return proxyEmbeddings(s, request, reply, key, request.body);
    },
  );
}
