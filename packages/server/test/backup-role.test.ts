/**
 * Migration 0024's rampart_backup role (issue 23 §5): read-only, BYPASSRLS, NOLOGIN, granted to the owner, not
 * to rampart_app (SET ROLE is checked against the session user, the owner, which could already switch RLS off on
 * its own tables: the role adds no power to the connection, only a read-only way to use it); and where the migrating user may not create a BYPASSRLS role, the migration skips with
 * a NOTICE instead of failing start-up. PGlite here (a fresh cluster per test, so the role starts absent);
 * the PostgreSQL paths run in packages/cli/test/backup.test.ts and maintenance-nonsuper.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { Database } from '../src/db/database.js';
import { openPglite } from '../src/db/engine-pglite.js';
import { MIGRATIONS_DIR, migrate } from '../src/db/migrate.js';
import { newId } from '../src/platform/ids.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('rampart_backup (migration 0024)', () => {
  it('is NOLOGIN, BYPASSRLS, read-only, sees every tenant row; rampart_app is not a member', async () => {
    const engine = await openPglite();
    closers.push(() => engine.close());
    await migrate(engine);
    const db = new Database(engine);
    const org = newId();
    await db.platform((q) => q.query(`INSERT INTO orgs (id, name) VALUES ($1, 'o')`, [org]));
    await db.org(org, (q) =>
      q.query(
        `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked) VALUES ($1, $2, 'n', 'v', '')`,
        [newId(), org],
      ),
    );

    const role = await db.owner((q) =>
      q.query<Record<string, boolean>>(
        `SELECT rolcanlogin, rolbypassrls, rolsuper, rolinherit,
                pg_has_role(current_user, 'rampart_backup', 'MEMBER') AS owner_member,
                pg_has_role('rampart_app', 'rampart_backup', 'MEMBER') AS app_member,
                has_table_privilege('rampart_backup', 'org_secrets', 'SELECT') AS can_select,
                has_table_privilege('rampart_backup', 'schema_migrations', 'SELECT') AS can_select_migrations,
                has_table_privilege('rampart_backup', 'org_secrets', 'INSERT') AS can_insert,
                has_table_privilege('rampart_backup', 'audit_log', 'UPDATE') AS can_update,
                has_table_privilege('rampart_backup', 'orgs', 'DELETE') AS can_delete
           FROM pg_roles WHERE rolname = 'rampart_backup'`,
      ),
    );
    expect(role.rows[0]).toEqual({
      rolcanlogin: false,
      rolbypassrls: true,
      rolsuper: false,
      rolinherit: false,
      owner_member: true,
      app_member: false,
      can_select: true,
      can_select_migrations: true,
      can_insert: false,
      can_update: false,
      can_delete: false,
    });

    // A table created later by the owner is readable too (default privileges).
    await db.owner((q) => q.exec('CREATE TABLE later_table (x int)'));
    const later = await db.owner((q) =>
      q.query<{ ok: boolean }>(`SELECT has_table_privilege('rampart_backup', 'later_table', 'SELECT') AS ok`),
    );
    expect(later.rows[0]?.ok).toBe(true);

    // As rampart_backup, with no tenant context at all, every tenant row is visible (row_security off, as
    // pg_dump sets it, does not error); as rampart_app without a context, none is.
    const seen = await db.owner(async (q) => {
      await q.query(
        `SELECT set_config('role', 'rampart_backup', true), set_config('row_security', 'off', true)`,
      );
      return q.query<{ n: number }>('SELECT count(*)::int AS n FROM org_secrets');
    });
    expect(seen.rows[0]?.n).toBe(1);
    const hidden = await db.tx({ orgId: null }, (q) =>
      q.query<{ n: number }>('SELECT count(*)::int AS n FROM org_secrets'),
    );
    expect(hidden.rows[0]?.n).toBe(0);
  }, 60_000);

  it('skips with a NOTICE, without failing, when the migrating user may not create a BYPASSRLS role', async () => {
    const pg = await PGlite.create();
    closers.push(() => pg.close());
    await pg.exec('CREATE ROLE migrator NOSUPERUSER CREATEROLE NOBYPASSRLS');
    const sql = readFileSync(join(MIGRATIONS_DIR, '0024_backup_role.sql'), 'utf8');
    await pg.transaction(async (tx) => {
      await tx.exec('SET LOCAL ROLE migrator');
      await tx.exec(sql);
    });
    const { rows } = await pg.query(`SELECT 1 FROM pg_roles WHERE rolname = 'rampart_backup'`);
    expect(rows).toEqual([]);
  }, 60_000);
});
