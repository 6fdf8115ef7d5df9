/** Throwaway PostgreSQL databases for tests and benches, on the server that TEST_DATABASE_URL names. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface PgDatabase {
  readonly url: string;
  /** The server's version, e.g. `16.4`. */
  readonly version: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database on the `base` PostgreSQL server (dropped, with any open connections, by `drop()`),
 * named `<prefix>_<random>` so leftovers are easy to spot; with `template`, a copy of that database instead (the
 * tests' migrated template: a copy costs about half of migrating an empty database). @throws when there is no base URL
 */
export async function createPgDatabase(
  opts: { base?: string | undefined; prefix?: string; template?: string | undefined } = {},
): Promise<PgDatabase> {
  const base = opts.base ?? process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `${opts.prefix ?? 'rampart_t'}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  await admin.query(`CREATE DATABASE ${name}${opts.template ? ` TEMPLATE ${opts.template}` : ''}`);
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
