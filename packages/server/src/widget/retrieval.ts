/**
 * Retrieval for the widget (issue 25 §1): full-text search, vector similarity, or both fused by reciprocal rank
 * fusion, in one statement. Every branch is scoped by org and widget explicitly and by RLS: another tenant's
 * chunks, text or vectors, cannot be returned.
 */
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { vectorLiteral } from './embeddings.js';

export type RetrievalMode = 'fulltext' | 'vector' | 'hybrid';

export interface Retrieved {
  id: string;
  documentId: string;
  content: string;
  /** The fused score (reciprocal rank fusion); the only ordering. */
  score: number;
  /** Cosine similarity to the question, when the chunk came from the vector branch. */
  similarity: number | null;
  /** Whether the chunk carries a vector of the question's key (false: not embedded yet, or by an older model). */
  embedded: boolean;
}

/** What the engine offers: pgvector (HNSW indexes, migration 0029) or exact scoring in SQL. */
export interface VectorSupport {
  pgvector: boolean;
  /** pgvector 0.8+: filtered HNSW scans keep going until enough rows pass the widget filter. */
  iterativeScan: boolean;
}

const support = new WeakMap<object, Promise<VectorSupport>>();

/** Whether the database has pgvector, asked once per database. */
export function vectorSupport(db: Database): Promise<VectorSupport> {
  let p = support.get(db);
  if (!p) {
    p = db
      .platform(async (q) => {
        const { rows } = await q.query<{ v: string }>(
          `SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`,
        );
        const v = rows[0]?.v;
        const [major = 0, minor = 0] = (v ?? '0.0').split('.').map(Number);
        return { pgvector: v !== undefined, iterativeScan: major > 0 || minor >= 8 };
      })
      .catch((err: unknown) => {
        support.delete(db);
        throw err;
      });
    support.set(db, p);
  }
  return p;
}

/** RRF's constant: ranks beyond the first few matter little, so one list's top hit cannot drown the other's. */
const RRF_K = 60;
/** Candidates each branch contributes to the fusion. */
const POOL = 40;

export interface RetrieveOptions {
  mode?: RetrievalMode;
  /** The question's vector (normalised) and the embedding key it was made with; absent: full text only. */
  vector?: { values: readonly number[]; key: string } | null;
  support?: VectorSupport;
}

/**
 * The chunks of one widget that best match `question`.
 *
 * - Full text: the question's stemmed words OR-ed (any word can match), ranked by ts_rank. The question is stemmed
 *   once (English) and the lexemes are combined with the `simple` configuration, so they are not stemmed twice;
 *   only plain word lexemes are kept, so punctuation in a message can never be read as tsquery syntax.
 * - Vector: cosine similarity against chunks embedded with the same key (model and size) as the question; chunks
 *   not embedded yet, or embedded by a model the widget no longer uses, are found by full text only.
 * - Hybrid (the default when a vector is given): the two lists fused by reciprocal rank, 1 / (60 + rank).
 */
export async function retrieve(
  q: Queryable,
  orgId: string,
  widgetId: string,
  question: string,
  limit: number,
  opts: RetrieveOptions = {},
): Promise<Retrieved[]> {
  const vector = opts.vector ?? null;
  const mode: RetrievalMode = opts.mode ?? (vector ? 'hybrid' : 'fulltext');
  const useText = mode !== 'vector';
  const useVector = mode !== 'fulltext' && vector !== null;
  if (!useText && !useVector) return [];
  const params: unknown[] = [orgId, widgetId, limit, POOL];
  const branches: string[] = [];
  const ctes: string[] = [];
  if (useText) {
    params.push(question);
    const p = `$${params.length}`;
    ctes.push(
      `words AS (
         SELECT lexeme FROM unnest(tsvector_to_array(to_tsvector('english', ${p}))) AS lexeme
          WHERE lexeme ~ '^[[:alnum:]_]+$' LIMIT 64
       ), tq AS MATERIALIZED (
         SELECT to_tsquery('simple', string_agg(lexeme, ' | ')) AS tq FROM words HAVING count(*) > 0
       ), ft0 AS (
         SELECT c.id, ts_rank(c.tsv, tq.tq) AS rank, c.seq FROM widget_chunks c, tq
          WHERE c.org_id = $1 AND c.widget_id = $2 AND c.tsv @@ tq.tq
          ORDER BY rank DESC, c.seq, c.id LIMIT $4
       ), ft AS (
         SELECT id, row_number() OVER (ORDER BY rank DESC, seq, id) AS r FROM ft0
       )`,
    );
    branches.push('SELECT id, r, NULL::float8 AS sim FROM ft');
  }
  if (useVector && vector) {
    const dims = vector.values.length;
    if (!Number.isInteger(dims) || dims < 1) throw new Error('a question vector has a positive integer size');
    params.push(vectorLiteral(vector.values), vector.key);
    const v = `$${params.length - 1}`;
    const key = `$${params.length}`;
    const distance = opts.support?.pgvector
      ? `(c.embedding::vector(${dims}) <=> ${v}::real[]::vector(${dims}))`
      : `(1 - rampart_dot(c.embedding, ${v}::real[]))`;
    ctes.push(
      `vec0 AS (
         SELECT c.id, ${distance} AS dist FROM widget_chunks c
          WHERE c.org_id = $1 AND c.widget_id = $2 AND c.embedding_model = ${key}
            AND array_length(c.embedding, 1) = ${dims}
          ORDER BY dist, c.id LIMIT $4
       ), vec AS (
         SELECT id, row_number() OVER (ORDER BY dist, id) AS r, 1 - dist AS sim FROM vec0
       )`,
    );
    branches.push('SELECT id, r, sim FROM vec');
  }
  // Without a question vector, `embedded` is not asked (false).
  const embeddedSql = vector ? `c.embedding_model IS NOT DISTINCT FROM $${params.push(vector.key)}` : 'false';
  const { rows } = await q.query<{
    embedded: boolean;
    id: string;
    document_id: string;
    content: string;
    score: number;
    sim: number | null;
  }>(
    `WITH ${ctes.join(', ')},
     hits AS (${branches.join(' UNION ALL ')}),
     fused AS (SELECT id, sum(1.0 / (${RRF_K} + r))::float8 AS score, max(sim) AS sim FROM hits GROUP BY id)
     SELECT c.id, c.document_id, c.content, f.score, f.sim, ${embeddedSql} AS embedded
       FROM fused f JOIN widget_chunks c ON c.id = f.id
      WHERE c.org_id = $1
      ORDER BY f.score DESC, f.sim DESC NULLS LAST, c.id LIMIT $3`,
    params,
  );
  return rows.map((r) => ({
    id: r.id,
    documentId: r.document_id,
    content: r.content,
    score: Number(r.score),
    similarity: r.sim === null ? null : Number(r.sim),
    embedded: r.embedded,
  }));
}

/**
 * Session settings for a vector search on pgvector, in the caller's transaction: a wider HNSW candidate list, and
 * on 0.8+ iterative scans, so a filter on one widget still returns `limit` rows from a shared index.
 */
export async function tuneVectorScan(q: Queryable, s: VectorSupport): Promise<void> {
  if (!s.pgvector) return;
  await q.query(
    s.iterativeScan
      ? `SELECT set_config('hnsw.ef_search', '100', true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`
      : `SELECT set_config('hnsw.ef_search', '100', true)`,
  );
}
