import { join, resolve } from 'node:path';
import { APP_ROLE, Database } from './database.js';
import { openPglite } from './engine-pglite.js';
import { openPostgres } from './engine-postgres.js';
import { type MigrateResult, migrate } from './migrate.js';
import type { Engine } from './types.js';

export interface OpenDatabaseOptions {
  /** postgres:// URL; absent means embedded PGlite under `dataDir`. */
  databaseUrl?: string | undefined;
  /** Rampart's data directory; PGlite files go to `<dataDir>/data`. Absent with no URL means in-memory. */
  dataDir?: string | undefined;
  /** Tests: start PGlite from a migrated snapshot. */
  pgliteSnapshot?: Blob;
  /** PostgreSQL pool size per process. */
  maxConnections?: number | undefined;
  /**
   * false: open as is, without applying pending migrations (checking a restored backup: the server applies
   * them when it starts, as its own user, rather than whoever ran the restore). Default true.
   */
  migrate?: boolean;
}

/**
 * Refuses to run when the application role could bypass row-level security: superusers and BYPASSRLS roles
 * ignore every policy, so tenant isolation would silently be off.
 * @throws Error naming the unsafe attribute
 */
export async function assertSafeAppRole(engine: Engine): Promise<void> {
  const { rows } = await engine.transaction((q) =>
    q.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1',
      [APP_ROLE],
    ),
  );
  const role = rows[0];
  if (!role) throw new Error(`database role ${APP_ROLE} is missing; migrations did not run`);
  if (role.rolsuper || role.rolbypassrls) {
    throw new Error(
      `database role ${APP_ROLE} has ${role.rolsuper ? 'SUPERUSER' : 'BYPASSRLS'}; refusing to start (tenant isolation would be off)`,
    );
  }
}

/** The newest applied migration, or null when the schema was never migrated. */
async function schemaVersion(engine: Engine): Promise<number | null> {
  return engine.transaction(async (q) => {
    const { rows: t } = await q.query<{ t: string | null }>(
      `SELECT to_regclass('schema_migrations')::text AS t`,
    );
    if (!t[0]?.t) return null;
    const { rows } = await q.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return rows[0]?.v ?? null;
  });
}

export interface OpenedDatabase {
  db: Database;
  migrations: MigrateResult;
  engine: Engine;
}

/** Opens the configured engine, applies migrations under the cluster-wide lock, and checks the app role. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const engine = opts.databaseUrl
    ? await openPostgres({
        connectionString: opts.databaseUrl,
        ...(opts.maxConnections ? { maxConnections: opts.maxConnections } : {}),
      })
    : await openPglite({
        ...(opts.dataDir ? { dataDir: resolve(join(opts.dataDir, 'data')) } : {}),
        ...(opts.pgliteSnapshot ? { loadDataDir: opts.pgliteSnapshot } : {}),
      });
  try {
    const migrations =
      opts.migrate === false
        ? { applied: [], current: (await schemaVersion(engine)) ?? 0 }
        : await migrate(engine);
    await assertSafeAppRole(engine);
    return { db: new Database(engine), migrations, engine };
  } catch (err) {
    await engine.close().catch(() => {});
    throw err;
  }
}
