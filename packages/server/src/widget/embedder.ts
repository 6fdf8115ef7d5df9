/**
 * The widget embedder (issue 25 §1): embeds chunks whose embedding key is not their widget's, in batches, on every
 * node. Ingest never waits for it: a document is stored with its full-text chunks in its own transaction, so a
 * provider that is down loses nothing; its chunks stay due and are retried with back-off. A change of the widget's
 * model or size makes every chunk due again, which is the re-embedding: resumable by construction (each batch is
 * committed, and progress is the share of chunks carrying the current key).
 */
import type { Queryable } from '../db/types.js';
import type { GatewayServices } from '../gateway/services.js';
import { AppError } from '../platform/errors.js';
import { embedTexts, vectorLiteral } from './embeddings.js';

/** The key a chunk's vector is stored under: the model, and the size when one is asked for. */
export const embeddingKey = (model: string, dimensions: number | null): string =>
  dimensions ? `${model}:${dimensions}` : model;
const KEY_SQL = `w.embedding_model || coalesce(':' || w.embedding_dimensions, '')`;

export interface EmbedderOptions {
  pollMs: number;
  /** Chunks per provider call. */
  batch: number;
  /** How long a claimed batch is held before another node may take it (a node that died mid-call). */
  leaseMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface EmbedTick {
  embedded: number;
  failed: number;
}

interface Claimed {
  key: string;
  model: string;
  dimensions: number | null;
  ids: string[];
  texts: string[];
}

/** Claims up to `batch` due chunks of one widget (leased, skipping rows another node holds). */
async function claim(
  q: Queryable,
  orgId: string,
  widgetId: string,
  batch: number,
  leaseMs: number,
): Promise<Claimed | null> {
  const { rows: w } = await q.query<{
    embedding_model: string | null;
    embedding_dimensions: number | null;
    key: string | null;
  }>(
    `SELECT embedding_model, embedding_dimensions, ${KEY_SQL} AS key FROM widgets w WHERE org_id = $1 AND id = $2`,
    [orgId, widgetId],
  );
  const widget = w[0];
  if (!widget?.embedding_model || !widget.key) return null;
  const { rows } = await q.query<{ id: string; content: string }>(
    `UPDATE widget_chunks c SET embed_after = now() + make_interval(secs => $5::float8 / 1000)
      WHERE c.id IN (
        SELECT id FROM widget_chunks
         WHERE org_id = $1 AND widget_id = $2 AND embedding_model IS DISTINCT FROM $3
           AND (embed_after IS NULL OR embed_after <= now())
         ORDER BY document_id, seq LIMIT $4 FOR UPDATE SKIP LOCKED)
      RETURNING c.id, c.content`,
    [orgId, widgetId, widget.key, batch, leaseMs],
  );
  if (rows.length === 0) return null;
  return {
    key: widget.key,
    model: widget.embedding_model,
    dimensions: widget.embedding_dimensions,
    ids: rows.map((r) => r.id),
    texts: rows.map((r) => r.content),
  };
}

export class WidgetEmbedder {
  readonly #s: GatewayServices;
  readonly #o: Required<EmbedderOptions>;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = true;

  constructor(s: GatewayServices, o: EmbedderOptions) {
    this.#s = s;
    this.#o = { leaseMs: 120_000, retryBaseMs: 5_000, retryMaxMs: 600_000, ...o };
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** New chunks or a new model: run now rather than at the next poll (this node only; others poll). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#loop().finally(() => {
        this.#running = null;
      });
    }, ms);
    this.#timer.unref();
  }

  async #loop(): Promise<void> {
    let busy = false;
    try {
      this.#again = false;
      const r = await this.tick();
      // Failures back off their whole widget (below), so only progress earns an immediate next round.
      busy = r.embedded > 0;
    } catch (err) {
      this.#s.logger.error({ err }, 'widget embedder round failed');
    }
    // Work left (a big document, a re-embedding): straight on, batch after batch; else wait for the poll.
    this.#schedule(busy || this.#again ? 0 : this.#o.pollMs);
  }

  /** One round: one batch for each widget with due chunks (so one large knowledge base cannot starve others). */
  async tick(): Promise<EmbedTick> {
    const s = this.#s;
    const due = await s.db.platform((q) =>
      q.query<{ org_id: string; widget_id: string }>(
        'SELECT org_id, widget_id FROM rampart_widget_embedding_due(now(), $1)',
        [32],
      ),
    );
    const out: EmbedTick = { embedded: 0, failed: 0 };
    for (const { org_id: orgId, widget_id: widgetId } of due.rows) {
      if (this.#stopped) break;
      const c = await s.db.org(orgId, (q) => claim(q, orgId, widgetId, this.#o.batch, this.#o.leaseMs));
      if (!c) continue;
      try {
        const vectors = await embedTexts(s, orgId, { model: c.model, dimensions: c.dimensions }, c.texts);
        if (c.dimensions && vectors[0]?.length !== c.dimensions)
          throw new AppError(
            'bad_gateway',
            `The embedding model returned ${vectors[0]?.length} dimensions, not the ${c.dimensions} asked for`,
          );
        await s.db.org(orgId, async (q) => {
          await q.query(
            `UPDATE widget_chunks c SET embedding = v.e::real[], embedding_model = $3, embed_after = NULL, embed_attempts = 0
               FROM unnest($2::uuid[], $4::text[]) AS v(id, e)
              WHERE c.org_id = $1 AND c.id = v.id`,
            [orgId, c.ids, embeddingKey(c.model, c.dimensions), vectors.map(vectorLiteral)],
          );
          await q.query(
            `UPDATE widgets SET embedding_error = NULL, embedding_error_at = NULL
              WHERE org_id = $1 AND id = $2 AND embedding_error IS NOT NULL`,
            [orgId, widgetId],
          );
        });
        out.embedded += c.ids.length;
      } catch (err) {
        out.failed += c.ids.length;
        const message = err instanceof AppError ? err.message : 'The embedding provider call failed';
        s.logger.warn(
          { orgId, widgetId, chunks: c.ids.length, err: message },
          'widget chunks not embedded; retrying later',
        );
        await s.db
          .org(orgId, async (q) => {
            // The whole widget waits, not only this batch: a provider that is down or a model no provider serves
            // fails every batch the same way, and should not be asked again for each of them.
            await q.query(
              `UPDATE widget_chunks SET embed_attempts = embed_attempts + 1,
                      embed_after = now() + make_interval(secs => least($3::float8, $4::float8 * 2 ^ least(embed_attempts, 20)) / 1000)
                WHERE org_id = $1 AND widget_id = $5
                  AND (id = ANY($2::uuid[])
                       OR (embedding_model IS DISTINCT FROM $6 AND (embed_after IS NULL OR embed_after <= now())))`,
              [orgId, c.ids, this.#o.retryMaxMs, this.#o.retryBaseMs, widgetId, c.key],
            );
            await q.query(
              'UPDATE widgets SET embedding_error = left($3, 500), embedding_error_at = now() WHERE org_id = $1 AND id = $2',
              [orgId, widgetId, message],
            );
          })
          .catch((e: unknown) => s.logger.error({ err: e }, 'could not record a widget embedding failure'));
      }
    }
    return out;
  }
}

export interface EmbeddingStatus {
  model: string | null;
  dimensions: number | null;
  /** Chunks of the widget. */
  total: number;
  /** Chunks carrying the widget's current embedding key. */
  embedded: number;
  /** Chunks that failed at least once since their last success, waiting for a retry. */
  failing: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** A widget's embedding progress (the dashboard's progress bar; `GET …/widgets/:id/embeddings`). */
export async function embeddingStatus(
  q: Queryable,
  orgId: string,
  widgetId: string,
): Promise<EmbeddingStatus> {
  const { rows } = await q.query<{
    embedding_model: string | null;
    embedding_dimensions: number | null;
    embedding_error: string | null;
    embedding_error_at: Date | null;
    total: number;
    embedded: number;
    failing: number;
  }>(
    `SELECT w.embedding_model, w.embedding_dimensions, w.embedding_error, w.embedding_error_at,
            count(c.id)::int AS total,
            (count(c.id) FILTER (WHERE c.embedding_model = ${KEY_SQL}))::int AS embedded,
            (count(c.id) FILTER (WHERE c.embed_attempts > 0))::int AS failing
       FROM widgets w LEFT JOIN widget_chunks c ON c.widget_id = w.id AND c.org_id = w.org_id
      WHERE w.org_id = $1 AND w.id = $2
      GROUP BY w.id`,
    [orgId, widgetId],
  );
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Widget not found');
  return {
    model: r.embedding_model,
    dimensions: r.embedding_dimensions,
    total: r.total,
    embedded: r.embedding_model ? r.embedded : 0,
    failing: r.failing,
    lastError: r.embedding_error,
    lastErrorAt: r.embedding_error_at?.toISOString() ?? null,
  };
}

/** "Retry now": failed chunks are due at once instead of after their back-off. */
export async function retryEmbeddings(q: Queryable, orgId: string, widgetId: string): Promise<number> {
  const w = await q.query('SELECT 1 FROM widgets WHERE org_id = $1 AND id = $2', [orgId, widgetId]);
  if (w.rowCount === 0) throw new AppError('not_found', 'Widget not found');
  const { rowCount } = await q.query(
    `UPDATE widget_chunks SET embed_after = NULL
      WHERE org_id = $1 AND widget_id = $2 AND embed_attempts > 0 AND embed_after > now()`,
    [orgId, widgetId],
  );
  return rowCount;
}
