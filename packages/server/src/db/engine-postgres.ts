import pg from 'pg';
import type { Engine, Queryable, QueryResult } from './types.js';

// Return int8 and numeric as strings (the pg default) but timestamps as Date; callers cast explicitly.
export interface PostgresOptions {
  connectionString: string;
  maxConnections?: number;
}

/** PostgreSQL through node-postgres with a pool. Each transaction holds one pooled client until it ends. */
export async function openPostgres(opts: PostgresOptions): Promise<Engine> {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // A broken idle client must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // The pool listens for errors on idle clients only. A connection the server cuts while it is checked out
  // (PostgreSQL restarting, an operator terminating backends) emits 'error' on the client: without a listener
  // that is an uncaught exception and the process dies. It can even land in the same read as the new
  // connection's ReadyForQuery, before the caller has the client. The query in flight rejects on its own and
  // the pool drops the dead client on release (it is no longer queryable), so this listener only swallows the
  // event. Found by `npm run bench -- load` (PostgreSQL restart); tested in test/db-outage.test.ts.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  // Fail fast with a clear error if the server is unreachable.
  const probe = await pool.connect();
  probe.release();

  return {
    name: 'postgres',
    async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const q: Queryable = {
        async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
          const res = await client.query(sql, params as unknown[]);
          return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
        },
        async exec(sql: string): Promise<void> {
          await client.query(sql); // no parameters: simple protocol, multiple statements allowed
        },
      };
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // connection is unusable; destroy it rather than return it to the pool
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
