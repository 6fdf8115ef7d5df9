import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import { assertSafeAppRole } from '../src/db/open.js';
import { SEALED_COLUMNS } from '../src/db/sealed-columns.js';
import { newId } from '../src/platform/ids.js';
import { createTestDb, ENGINES, type TestDb } from './helpers.js';

async function seedOrg(t: TestDb, name: string): Promise<string> {
  const id = newId();
  await t.db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, name]));
  await t.db.org(id, (q) =>
    q.query(
      `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked) VALUES ($1, $2, 'k', 'v1.x', '****')`,
      [newId(), id],
    ),
  );
  return id;
}

describe.each(ENGINES)('tenant isolation with row-level security (%s)', (engine) => {
  let t: TestDb;
  let orgA: string;
  let orgB: string;
  beforeAll(async () => {
    t = await createTestDb(engine);
    orgA = await seedOrg(t, 'A');
    orgB = await seedOrg(t, 'B');
  });
  afterAll(() => t.close());

  it('a query without tenant context sees no tenant rows', async () => {
    const { rows } = await t.db.tx({ orgId: null }, (q) => q.query('SELECT * FROM org_secrets'));
    expect(rows).toHaveLength(0);
  });

  it("org A's context cannot see org B's rows, even without a WHERE clause", async () => {
    const { rows } = await t.db.org(orgA, (q) =>
      q.query<{ org_id: string }>('SELECT org_id FROM org_secrets'),
    );
    expect(rows.map((r) => r.org_id)).toEqual([orgA]);
    const direct = await t.db.org(orgA, (q) =>
      q.query('SELECT * FROM org_secrets WHERE org_id = $1', [orgB]),
    );
    expect(direct.rows).toHaveLength(0);
  });

  it("writing a row into another org is refused by the policy's WITH CHECK", async () => {
    await expect(
      t.db.org(orgA, (q) =>
        q.query(
          `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked) VALUES ($1, $2, 'x', 'v1.x', '*')`,
          [newId(), orgB],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it("org A cannot update or delete org B's rows (they are invisible, so nothing changes)", async () => {
    const upd = await t.db.org(orgA, (q) =>
      q.query(`UPDATE org_secrets SET masked = 'pwned' WHERE org_id = $1`, [orgB]),
    );
    const del = await t.db.org(orgA, (q) => q.query('DELETE FROM org_secrets WHERE org_id = $1', [orgB]));
    expect(upd.rowCount).toBe(0);
    expect(del.rowCount).toBe(0);
    const { rows } = await t.db.org(orgB, (q) =>
      q.query<{ masked: string }>('SELECT masked FROM org_secrets'),
    );
    expect(rows).toEqual([{ masked: '****' }]);
  });

  it('tenant context is transaction-local: it does not leak to the next transaction on a pooled connection', async () => {
    for (let i = 0; i < 10; i++) {
      await t.db.org(orgA, (q) => q.query('SELECT 1'));
      const { rows } = await t.db.tx({ orgId: null }, (q) =>
        q.query<{ org: string | null; role: string }>(
          `SELECT current_setting('app.org_id', true) AS org, current_user AS role`,
        ),
      );
      expect(rows[0]?.org ?? '').toBe('');
      expect(rows[0]?.role).toBe('rampart_app');
    }
  });

  it('requests run as rampart_app, which is neither superuser nor BYPASSRLS nor table owner', async () => {
    const { rows } = await t.db.org(orgA, (q) =>
      q.query<{ rolsuper: boolean; rolbypassrls: boolean; owner: string }>(
        `SELECT r.rolsuper, r.rolbypassrls, (SELECT tableowner FROM pg_tables WHERE tablename = 'org_secrets') AS owner
           FROM pg_roles r WHERE r.rolname = current_user`,
      ),
    );
    expect(rows[0]).toMatchObject({ rolsuper: false, rolbypassrls: false });
    expect(rows[0]?.owner).not.toBe('rampart_app');
  });

  it('a non-UUID org id never reaches SQL', () => {
    expect(() => t.db.org("x' OR '1'='1", async () => 1)).toThrow(TypeError);
  });

  it('every tenant table (one with org_id) enables and forces RLS and has an index led by org_id', async () => {
    const { rows } = await t.db.owner((q) =>
      q.query<{ table: string; rls: boolean; forced: boolean; indexed: boolean }>(
        `SELECT c.relname AS table, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
                EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                         WHERE i.indrelid = c.oid AND a.attname = 'org_id') AS indexed
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'orgs'
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)`,
      ),
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const r of rows) expect(r, r.table).toMatchObject({ rls: true, forced: true, indexed: true });
  });

  it('every *_sealed column in the schema is registered for key rotation and backfill', async () => {
    const { rows } = await t.db.owner((q) =>
      q.query<{ t: string; c: string }>(
        `SELECT table_name AS t, column_name AS c FROM information_schema.columns
          WHERE table_schema = 'public' AND column_name LIKE '%\\_sealed'`,
      ),
    );
    const registered = new Set(SEALED_COLUMNS.map((s) => `${s.table}.${s.column}`));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(registered, `${r.t}.${r.c}`).toContain(`${r.t}.${r.c}`);
  });

  it('migrations are idempotent and refuse an edited history', async () => {
    const again = await migrate(t.engine);
    expect(again.applied).toEqual([]);
    await t.db.owner((q) => q.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`));
    await expect(migrate(t.engine)).rejects.toThrow(/changed after it was applied/);
    const { loadMigrations } = await import('../src/db/migrate.js');
    const first = loadMigrations()[0];
    await t.db.owner((q) =>
      q.query('UPDATE schema_migrations SET checksum = $1 WHERE version = 1', [first?.checksum]),
    );
  });
});

describe('start-up refuses an application role that could bypass RLS', () => {
  // PGlite only: on a shared PostgreSQL cluster the role is cluster-wide and other test files use it.
  it('refuses BYPASSRLS and SUPERUSER', async () => {
    const t = await createTestDb('pglite');
    try {
      await assertSafeAppRole(t.engine);
      await t.db.owner((q) => q.query('ALTER ROLE rampart_app BYPASSRLS'));
      await expect(assertSafeAppRole(t.engine)).rejects.toThrow(/BYPASSRLS; refusing to start/);
      await t.db.owner((q) => q.query('ALTER ROLE rampart_app NOBYPASSRLS SUPERUSER'));
      await expect(assertSafeAppRole(t.engine)).rejects.toThrow(/SUPERUSER; refusing to start/);
    } finally {
      await t.close();
    }
  });
});

describe.runIf(ENGINES.includes('postgres'))('migrations on PostgreSQL', () => {
  it('two nodes migrating one database at once apply each migration exactly once', async () => {
    const { openPostgres } = await import('../src/db/engine-postgres.js');
    const t = await createTestDb('postgres');
    try {
      // Start from an empty schema in a second throwaway database.
      const url = t.url as string;
      await t.db.owner((q) => q.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;'));
      const nodes = await Promise.all([1, 2, 3].map(() => openPostgres({ connectionString: url })));
      const results = await Promise.all(nodes.map((n) => migrate(n)));
      const appliedCounts = results.map((r) => r.applied.length).sort();
      expect(appliedCounts.filter((n) => n > 0)).toHaveLength(1);
      const { rows } = await t.db.owner((q) =>
        q.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations'),
      );
      expect(rows[0]?.n).toBe(results[0]?.current);
      await Promise.all(nodes.map((n) => n.close()));
    } finally {
      await t.close();
    }
  });
});
