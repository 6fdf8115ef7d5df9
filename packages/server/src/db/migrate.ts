import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Engine } from './types.js';

/** packages/server/migrations, resolved the same way from src/db and dist/db. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Reads `NNNN_name.sql` files in order. A gap or duplicate number is a packaging bug and refuses to load. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return files.map((file, i) => {
    const version = Number(file.slice(0, 4));
    if (version !== i + 1) throw new Error(`migration numbering broken at ${file}: expected ${i + 1}`);
    const sql = readFileSync(`${dir}${file}`, 'utf8');
    return { version, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

// Arbitrary constant: the advisory lock every node takes before migrating, so two nodes starting together
// apply each migration once (the second waits, then finds nothing to do).
const MIGRATION_LOCK = 7_261_600_001;

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Applies pending migrations in one transaction under an advisory lock. Idempotent; refuses to run when an
 * already-applied migration's file changed (edited history is a deployment error, not something to paper over).
 * @throws Error naming the changed migration
 */
export async function migrate(engine: Engine, migrations = loadMigrations()): Promise<MigrateResult> {
  return engine.transaction(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await q.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await q.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new Error(
            `migration ${m.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await q.exec(m.sql);
      await q.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
      applied.push(m.name);
    }
    const newest = Math.max(0, ...done.keys());
    if (newest > migrations.length) {
      throw new Error(
        `database schema version ${newest} is newer than this build (${migrations.length}); upgrade Rampart`,
      );
    }
    return { applied, current: migrations.length };
  });
}
