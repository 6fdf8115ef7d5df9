import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { lockDataDir } from './lockfile.js';
import type { Engine, Queryable, QueryResult } from './types.js';

/**
 * PGlite's errors carry the failed statement and its bound values (`query`, `params`, `queryOptions`), which the
 * error serializer would log: a visitor's message or a document's text in the log. node-postgres attaches
 * neither; remove them so both engines fail the same way.
 */
function scrubbed(err: unknown): unknown {
  if (err && typeof err === 'object')
    for (const k of ['query', 'params', 'queryOptions']) delete (err as Record<string, unknown>)[k];
  return err;
}

function wrap(tx: Transaction | PGlite): Queryable {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const res = await tx.query<R>(sql, params as unknown[]).catch((err: unknown) => {
        throw scrubbed(err);
      });
      // PGlite reports affectedRows = 0 for a SELECT, where node-postgres reports the rows returned; take
      // the larger so rowCount means the same on both engines (DML without RETURNING returns no rows).
      return { rows: res.rows, rowCount: Math.max(res.affectedRows ?? 0, res.rows.length) };
    },
    async exec(sql: string): Promise<void> {
      await tx.exec(sql).catch((err: unknown) => {
        throw scrubbed(err);
      });
    },
  };
}

export interface PgliteOptions {
  /** Directory for the data files; absent means in-memory (tests). */
  dataDir?: string;
  /** A `dumpDataDir()` tarball to start from (tests use a migrated template to skip ~3 s of setup). */
  loadDataDir?: Blob;
}

/**
 * Embedded PostgreSQL (WASM). One connection, so PGlite itself queues transactions; that is the
 * embedded default's capacity limit and why production deployments set DATABASE_URL.
 */
export async function openPglite(
  opts: PgliteOptions = {},
): Promise<Engine & { dump(compression?: 'none' | 'gzip'): Promise<Blob> }> {
  let unlock = () => {};
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    unlock = lockDataDir(opts.dataDir);
  }
  let db: PGlite;
  try {
    // pgvector is bundled with the embedded default (widget retrieval, migration 0029).
    db = await PGlite.create({
      extensions: { vector },
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    });
  } catch (err) {
    unlock();
    throw err;
  }
  return {
    name: 'pglite',
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: async () => {
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
    dump: async (compression = 'none') => (await db.dumpDataDir(compression)) as Blob,
  };
}
