import { redact } from '@rampart/core/redact';
import { type Region, routeFor } from '../gateway/providers.js';
import { loadRouting } from '../gateway/route-cache.js';
import type { GatewayServices } from '../gateway/services.js';
import { AppError } from '../platform/errors.js';
import { embeddingKey } from './embedder.js';
import { embedTexts } from './embeddings.js';
import { postToProvider } from './provider-call.js';
import { retrieve, tuneVectorScan, vectorSupport } from './retrieval.js';
import type { WidgetRow } from './widgets.js';

export const RETRIEVED_CHUNKS = 4;
const MAX_ANSWER_BYTES = 1024 * 1024;
/** A question is embedded within this, or answered from full-text retrieval alone. */
const QUESTION_EMBED_TIMEOUT_MS = 5_000;

/**
 * The question's vector, or null when the widget has no embedding model or the provider cannot give one now: the
 * visitor still gets an answer, from full-text retrieval.
 */
async function questionVector(
  s: GatewayServices,
  orgId: string,
  widget: WidgetRow,
  message: string,
): Promise<{ values: number[]; key: string } | null> {
  if (!widget.embedding_model) return null;
  try {
    const [values] = await embedTexts(
      s,
      orgId,
      { model: widget.embedding_model, dimensions: widget.embedding_dimensions },
      [message],
      Math.min(QUESTION_EMBED_TIMEOUT_MS, s.config.RAMPART_GATEWAY_TIMEOUT_MS),
    );
    return values ? { values, key: embeddingKey(widget.embedding_model, widget.embedding_dimensions) } : null;
  } catch (err) {
    s.logger.warn(
      { orgId, widgetId: widget.id, err: (err as Error).message },
      'question not embedded: full-text retrieval only',
    );
    return null;
  }
}

/**
 * Answers a visitor's message: retrieves the widget's best-matching chunks, then asks the model through the
 * org's gateway provider configuration (same routing, residency and sealed provider keys as /v1). The model
 * sees exactly three things: the widget's system prompt, the retrieved chunks and the visitor's message
 * (PII-redacted when the org's redaction setting is on). Nothing else about the org or other visitors.
 * @throws AppError not_found (no provider serves the widget's model) | bad_gateway | upstream_timeout
 */
export async function answer(
  s: GatewayServices,
  orgId: string,
  widget: WidgetRow,
  message: string,
): Promise<{ reply: string; chunks: number; grounded: boolean }> {
  const routing = await s.routing.get(orgId, () => s.db.org(orgId, (q) => loadRouting(q, orgId)));
  if (!routing) throw new AppError('not_found', 'Widget not found');
  const route = routeFor(routing, s.ring, orgId, widget.model, null as Region | null, 'inherit');
  const vector = await questionVector(s, orgId, widget, message);
  const support = vector ? await vectorSupport(s.db) : undefined;
  const hits = await s.db.org(orgId, async (q) => {
    if (support) await tuneVectorScan(q, support);
    return retrieve(q, orgId, widget.id, message, RETRIEVED_CHUNKS, {
      vector,
      ...(support ? { support } : {}),
    });
  });
  const chunks = hits.map((h) => h.content);
  // Answered from the knowledge base: a chunk at least as similar as the widget's threshold, or, without a
  // question vector (full-text widgets, or the embedding provider down), any full-text match.
  // A full-text hit on a chunk not embedded yet (just ingested, or during a re-embedding) has no similarity to
  // judge it by: it counts, as it would for a full-text widget.
  const grounded = vector
    ? hits.some((h) => (h.similarity !== null ? h.similarity >= Number(widget.min_similarity) : !h.embedded))
    : hits.length > 0;
  const context = chunks.length
    ? chunks.map((c, i) => `[${i + 1}] ${c}`).join('\n\n')
    : '(no matching documents)';
  const body = JSON.stringify({
    model: widget.model,
    messages: [
      {
        role: 'system',
        content: `${widget.system_prompt}\n\nAnswer from the context below when it is relevant.\n\nContext:\n${context}`,
      },
      { role: 'user', content: route.redact ? redact(message) : message },
    ],
  });
  const timeoutMs = route.reasoning
    ? s.config.RAMPART_GATEWAY_REASONING_TIMEOUT_MS
    : s.config.RAMPART_GATEWAY_TIMEOUT_MS;
  const text = await postToProvider(s, route, '/chat/completions', body, {
    timeoutMs,
    maxBytes: MAX_ANSWER_BYTES,
    what: 'model',
  });
  let reply: unknown;
  try {
    reply = (JSON.parse(text) as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]
      ?.message?.content;
  } catch {
    reply = undefined;
  }
  if (typeof reply !== 'string') throw new AppError('bad_gateway', 'The model provider sent no answer');
  return { reply, chunks: chunks.length, grounded };
}
