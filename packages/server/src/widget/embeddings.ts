/**
 * Embeddings for the widget (issue 25 §1): chunks and visitors' questions are embedded through the org's own
 * gateway provider configuration (same routing, data residency and sealed provider key as `/v1/embeddings`), with
 * the org's PII redaction applied to what is sent.
 */
import { maskReplacer, PII_KINDS, redactWith } from '@rampart/core/redact';
import { routeFor } from '../gateway/providers.js';
import { loadRouting } from '../gateway/route-cache.js';
import type { GatewayServices } from '../gateway/services.js';
import { AppError } from '../platform/errors.js';
import { postToProvider } from './provider-call.js';

const ALL_KINDS = new Set(PII_KINDS);
/** 64 chunks of ~1,200 characters at 1,536 floats: a few MB of JSON at most. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
export const MIN_DIMENSIONS = 16;
export const MAX_DIMENSIONS = 2_000;

export interface EmbeddingSpec {
  model: string;
  /** Sent as `dimensions` when set (models that can shorten their vectors); else the model's own size. */
  dimensions: number | null;
}

/** Scales a vector to length 1, so a dot product is the cosine similarity. */
export function normalise(v: readonly number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const n = Math.sqrt(sum);
  if (!(n > 0)) throw new AppError('bad_gateway', 'The embedding provider sent a zero vector');
  return v.map((x) => x / n);
}

/**
 * Embeds `texts` (in order) with the org's provider for `spec.model`. Vectors come back L2-normalised and all of
 * one size between 16 and 2,000 (what an HNSW index takes); anything else from the provider is refused.
 * @throws AppError not_found | region_not_allowed (routing) | bad_gateway | upstream_timeout
 */
export async function embedTexts(
  s: GatewayServices,
  orgId: string,
  spec: EmbeddingSpec,
  texts: readonly string[],
  timeoutMs = s.config.RAMPART_GATEWAY_TIMEOUT_MS,
): Promise<number[][]> {
  const routing = await s.routing.get(orgId, () => s.db.org(orgId, (q) => loadRouting(q, orgId)));
  if (!routing) throw new AppError('not_found', 'Org not found');
  const route = routeFor(routing, s.ring, orgId, spec.model, null, 'inherit', 'openai');
  // Fixed placeholders, never numbered ones: the same text must embed the same wherever it appears.
  const input = route.redact ? texts.map((t) => redactWith(t, ALL_KINDS, maskReplacer)) : [...texts];
  const body = await postToProvider(
    s,
    route,
    '/embeddings',
    JSON.stringify({
      model: spec.model,
      input,
      encoding_format: 'float',
      ...(spec.dimensions ? { dimensions: spec.dimensions } : {}),
    }),
    { timeoutMs, maxBytes: MAX_ANSWER_BYTES, what: 'embedding' },
  );
  return parseEmbeddings(body, texts.length);
}

/**
 * The vectors of an OpenAI embeddings answer, by `index`.
 * @throws AppError bad_gateway (not that shape, a count or size mismatch, non-finite numbers)
 */
export function parseEmbeddings(body: string, expected: number): number[][] {
  let data: unknown;
  try {
    data = (JSON.parse(body) as { data?: unknown }).data;
  } catch {
    throw new AppError('bad_gateway', 'The embedding provider sent something other than JSON');
  }
  if (!Array.isArray(data) || data.length !== expected)
    throw new AppError(
      'bad_gateway',
      `The embedding provider sent ${Array.isArray(data) ? data.length : 0} vectors for ${expected} texts`,
    );
  const out = new Array<number[] | undefined>(expected);
  for (const [i, item] of data.entries()) {
    const e = item as { index?: unknown; embedding?: unknown };
    const at = typeof e.index === 'number' ? e.index : i;
    if (!Number.isInteger(at) || at < 0 || at >= expected || out[at])
      throw new AppError('bad_gateway', 'The embedding provider sent vectors out of order');
    if (!Array.isArray(e.embedding) || !e.embedding.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw new AppError('bad_gateway', 'The embedding provider sent a vector that is not a list of numbers');
    out[at] = normalise(e.embedding as number[]);
  }
  const size = out[0]?.length ?? 0;
  if (size < MIN_DIMENSIONS || size > MAX_DIMENSIONS)
    throw new AppError(
      'bad_gateway',
      `The embedding model returns ${size} dimensions; widgets take ${MIN_DIMENSIONS} to ${MAX_DIMENSIONS} (set embeddingDimensions)`,
    );
  if (out.some((v) => v?.length !== size))
    throw new AppError('bad_gateway', 'The embedding provider sent vectors of different sizes');
  return out as number[][];
}

/** A vector as a PostgreSQL array literal (`{0.1,0.2}`), for `::real[]` and `::vector` casts. */
export const vectorLiteral = (v: readonly number[]): string => `{${v.join(',')}}`;
