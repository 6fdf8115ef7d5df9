import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { PLANS } from './plans.js';
import { billingRow, releaseKnowledge } from './quota.js';

export interface WidgetInput {
  name: string;
  allowedOrigins: string[];
  systemPrompt: string;
  model: string;
  limits: { perIpPerMinute: number; perWidgetPerMinute: number };
  /** The model chunks and questions are embedded with (null: full-text retrieval only). */
  embeddingModel: string | null;
  /** The vector size to ask the model for (null: the model's own; 16 to 2,000). */
  embeddingDimensions: number | null;
  /** Cosine similarity under which retrieved chunks do not count as an answer (0 to 1). */
  minSimilarity: number;
  /** Days a visitor conversation is kept after its last message (1..365). */
  conversationRetentionDays: number;
}

export interface WidgetView extends WidgetInput {
  id: string;
  createdAt: string;
  updatedAt: string;
}

export interface WidgetRow {
  id: string;
  org_id: string;
  name: string;
  allowed_origins: string[];
  system_prompt: string;
  model: string;
  per_ip_per_minute: number;
  per_widget_per_minute: number;
  embedding_model: string | null;
  embedding_dimensions: number | null;
  min_similarity: number;
  conversation_retention_days: number;
  created_at: Date;
  updated_at: Date;
}

export const DEFAULT_LIMITS = { perIpPerMinute: 10, perWidgetPerMinute: 600 } as const;
export const DEFAULT_MIN_SIMILARITY = 0.3;

export const widgetView = (r: WidgetRow): WidgetView => ({
  id: r.id,
  name: r.name,
  allowedOrigins: r.allowed_origins,
  systemPrompt: r.system_prompt,
  model: r.model,
  limits: { perIpPerMinute: r.per_ip_per_minute, perWidgetPerMinute: r.per_widget_per_minute },
  embeddingModel: r.embedding_model,
  embeddingDimensions: r.embedding_dimensions,
  // real: read back as 0.30000001192…; the API shows what was set.
  minSimilarity: Math.round(Number(r.min_similarity) * 1e6) / 1e6,
  conversationRetentionDays: r.conversation_retention_days,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/**
 * An allowed origin is exactly what a browser sends in `Origin`: scheme, host and port, nothing else
 * (`https://shop.example.com`, `http://localhost:3000`). Stored in that canonical form; comparison is exact.
 * @throws AppError validation_failed
 */
export function canonicalOrigin(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AppError(
      'validation_failed',
      'allowedOrigins: each entry must be an origin such as https://example.com',
    );
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password)
    throw new AppError('validation_failed', 'allowedOrigins: an origin is http(s)://host[:port] only');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || raw.endsWith('/'))
    throw new AppError('validation_failed', 'allowedOrigins: an origin has no path, query or trailing slash');
  return u.origin;
}

/**
 * Creates a widget within the plan's widget limit (checked under a per-org advisory lock, so concurrent
 * creations cannot overshoot it).
 * @throws AppError validation_failed | quota_exceeded
 */
export async function createWidget(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  input: WidgetInput,
): Promise<WidgetView> {
  const origins = [...new Set(input.allowedOrigins.map(canonicalOrigin))];
  await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('rampart.widgets.' || $1::text, 0))`, [orgId]);
  const b = await billingRow(q, orgId);
  const { rows: n } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM widgets WHERE org_id = $1',
    [orgId],
  );
  if ((n[0]?.n ?? 0) >= PLANS[b.plan].widgets)
    throw new AppError(
      'quota_exceeded',
      `The ${b.plan} plan allows ${PLANS[b.plan].widgets} widget(s); upgrade to add more`,
    );
  const id = newId();
  const { rows } = await q.query<WidgetRow>(
    `INSERT INTO widgets (id, org_id, name, allowed_origins, system_prompt, model, per_ip_per_minute, per_widget_per_minute,
                          embedding_model, embedding_dimensions, min_similarity, conversation_retention_days)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
    [
      id,
      orgId,
      input.name,
      origins,
      input.systemPrompt,
      input.model,
      input.limits.perIpPerMinute,
      input.limits.perWidgetPerMinute,
      input.embeddingModel,
      input.embeddingDimensions,
      input.minSimilarity,
      input.conversationRetentionDays,
    ],
  );
  await appendAudit(q, actor, {
    orgId,
    action: 'widget.created',
    target: `widget:${id}`,
    meta: {
      name: input.name,
      allowedOrigins: origins,
      model: input.model,
      embeddingModel: input.embeddingModel,
    },
  });
  return widgetView(rows[0] as WidgetRow);
}

export async function updateWidget(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
  patch: Partial<WidgetInput>,
): Promise<WidgetView> {
  const origins = patch.allowedOrigins ? [...new Set(patch.allowedOrigins.map(canonicalOrigin))] : null;
  const { rows } = await q.query<WidgetRow>(
    `UPDATE widgets SET name = coalesce($3, name), allowed_origins = coalesce($4, allowed_origins),
       system_prompt = coalesce($5, system_prompt), model = coalesce($6, model),
       per_ip_per_minute = coalesce($7, per_ip_per_minute), per_widget_per_minute = coalesce($8, per_widget_per_minute),
       embedding_model = CASE WHEN $9 THEN $10 ELSE embedding_model END,
       embedding_dimensions = CASE WHEN $11 THEN $12 ELSE embedding_dimensions END,
       min_similarity = coalesce($13, min_similarity),
       conversation_retention_days = coalesce($14, conversation_retention_days), updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING *`,
    [
      orgId,
      id,
      patch.name ?? null,
      origins,
      patch.systemPrompt ?? null,
      patch.model ?? null,
      patch.limits?.perIpPerMinute ?? null,
      patch.limits?.perWidgetPerMinute ?? null,
      patch.embeddingModel !== undefined,
      patch.embeddingModel ?? null,
      patch.embeddingDimensions !== undefined,
      patch.embeddingDimensions ?? null,
      patch.minSimilarity ?? null,
      patch.conversationRetentionDays ?? null,
    ],
  );
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Widget not found');
  await appendAudit(q, actor, {
    orgId,
    action: 'widget.updated',
    target: `widget:${id}`,
    meta: { changed: Object.keys(patch).sort(), allowedOrigins: r.allowed_origins },
  });
  return widgetView(r);
}

export async function getWidget(q: Queryable, orgId: string, id: string): Promise<WidgetRow> {
  const { rows } = await q.query<WidgetRow>('SELECT * FROM widgets WHERE org_id = $1 AND id = $2', [
    orgId,
    id,
  ]);
  if (!rows[0]) throw new AppError('not_found', 'Widget not found');
  return rows[0];
}

export async function listWidgets(q: Queryable, orgId: string): Promise<WidgetView[]> {
  const { rows } = await q.query<WidgetRow>(
    'SELECT * FROM widgets WHERE org_id = $1 ORDER BY created_at, id',
    [orgId],
  );
  return rows.map(widgetView);
}

/** Deletes a widget with its documents and chunks (cascade) and releases their bytes. */
export async function deleteWidget(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  id: string,
): Promise<void> {
  const { rows: docs } = await q.query<{ bytes: string | null }>(
    'SELECT sum(bytes)::bigint AS bytes FROM widget_documents WHERE org_id = $1 AND widget_id = $2',
    [orgId, id],
  );
  const del = await q.query<{ name: string }>(
    'DELETE FROM widgets WHERE org_id = $1 AND id = $2 RETURNING name',
    [orgId, id],
  );
  if (!del.rows[0]) throw new AppError('not_found', 'Widget not found');
  const bytes = Number(docs[0]?.bytes ?? 0);
  if (bytes > 0) await releaseKnowledge(q, orgId, bytes);
  await appendAudit(q, actor, {
    orgId,
    action: 'widget.deleted',
    target: `widget:${id}`,
    meta: { name: del.rows[0].name },
  });
}
