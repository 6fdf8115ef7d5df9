import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface PgDatabase {
  readonly url: string;
  /** The server's version, e.g. `16.4`. */
  readonly version: string;
  drop(): Promise<void>;
}

/** A throwaway database on the `base` PostgreSQL server (dropped by `drop()`), as the test helpers make them. */
export async function createPgDatabase(base: string): Promise<PgDatabase> {
  const name = `rampart_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    version: (rows[0]?.server_version ?? '').split(' ')[0] ?? '',
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
