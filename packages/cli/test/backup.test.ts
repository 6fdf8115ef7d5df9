/**
 * `rampart admin backup` / `rampart admin restore` (issue 23 §5) on both engines, through the built CLI as a
 * real process: a round trip keeps every tenant row and every audit chain verifies afterwards; a restore
 * refuses a non-empty target without --force and fails loudly when a chain does not verify; the dump runs as
 * a role that sees tenant rows even when the connecting user is an ordinary login; clear errors for a
 * missing pg_dump and a user that cannot read tenant rows; no password in any output.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing } from '@rampart/core/seal';
import { appendAudit, type Database, openDatabase, putSecret, verifyChain } from '@rampart/server';
import { BIN, type CliResult, cleanEnv, createPgDatabase, type PgDatabase, runCli } from '@rampart/testing';
import { migratedDataDir } from '@rampart/testing/datadir';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BASE = process.env.TEST_DATABASE_URL;
const ring = KeyRing.parse(`t1:${Buffer.alloc(32, 5).toString('base64')}`);
const actor = { requestId: 'backup-test' };
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-backup-'));
  tempDirs.push(dir);
  return dir;
}

/** Two orgs with three secrets each (each put is audited in the org's chain) and a platform audit event. */
async function seed(db: Database): Promise<Record<string, number>> {
  const orgs: Record<string, number> = {};
  for (const name of ['org-a', 'org-b']) {
    const id = randomUUID();
    await db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, name]));
    for (let i = 0; i < 3; i++)
      await db.org(id, (q) => putSecret(q, ring, actor, id, `s${i}`, `secret-${name}-${i}-0123456789`));
    orgs[id] = 3;
  }
  await db.platform((q) => appendAudit(q, actor, { orgId: null, action: 'auth.login_failed' }));
  return orgs;
}

/** Per org: its secrets and whether its chain verifies, read under RLS in the org's context. */
async function inspect(
  db: Database,
  orgIds: string[],
): Promise<Record<string, { secrets: number; ok: boolean }>> {
  const out: Record<string, { secrets: number; ok: boolean }> = {};
  for (const id of orgIds) {
    const { rows } = await db.org(id, (q) =>
      q.query<{ n: string }>('SELECT count(*)::text AS n FROM org_secrets'),
    );
    const chain = await db.org(id, (q) => verifyChain(q, id));
    out[id] = { secrets: Number(rows[0]?.n), ok: chain.ok && chain.count === 3 };
  }
  return out;
}

const rampart = (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
  runCli(['admin', ...args], { env });

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npx tsc -b\``);
});
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('backup and restore on PGlite', () => {
  const source = tempDir();
  const backup = join(tempDir(), 'rampart.tgz');
  let orgs: Record<string, number>;
  const env = (dataDir: string, extra: Record<string, string> = {}) =>
    cleanEnv({ NODE_ENV: 'development', RAMPART_DATA_DIR: dataDir, ...extra });

  beforeAll(async () => {
    // Starts from a migrated copy rather than PGlite's ~5 s initdb; the restores below go into empty directories.
    migratedDataDir(source);
    const { db } = await openDatabase({ dataDir: source });
    try {
      orgs = await seed(db);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('refuses to back up while another process holds the data directory', async () => {
    const { db } = await openDatabase({ dataDir: source }); // this test process holds the pid lock now
    try {
      const r = await rampart(['backup', '--out', backup], env(source));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/in use by process \d+; stop it first/);
      expect(existsSync(backup)).toBe(false);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('round trip: backup, restore into an empty directory, rows there and every chain verified', async () => {
    const b = await rampart(['backup', '--out', backup], env(source));
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('embedded PGlite');
    expect(statSync(backup).mode & 0o777).toBe(0o600);

    const target = tempDir();
    const r = await rampart(['restore', backup], env(target));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('3 chain(s) checked, 0 with problems');
    expect(r.stdout).toContain('3 audit chain(s) verified');
    const { db } = await openDatabase({ dataDir: target });
    try {
      const seen = await inspect(db, Object.keys(orgs));
      for (const id of Object.keys(orgs)) expect(seen[id]).toEqual({ secrets: 3, ok: true });
    } finally {
      await db.close();
    }

    // A second restore into the now non-empty directory refuses; --force moves the data aside, never deletes it.
    const again = await rampart(['restore', backup], env(target));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty: restore into an empty RAMPART_DATA_DIR, or pass --force/);
    const forced = await rampart(['restore', '--force', backup], env(target));
    expect(forced.code, forced.stderr).toBe(0);
    expect(readdirSync(target).some((f) => f.startsWith('data.before-restore-'))).toBe(true);
  }, 180_000);

  it('refuses a file that is not a backup, and a PGlite backup with DATABASE_URL set', async () => {
    const junk = join(tempDir(), 'junk.bin');
    writeFileSync(junk, 'not a backup at all');
    const r = await rampart(['restore', junk], env(tempDir()));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not a Rampart backup');
    if (!existsSync(backup)) return;
    const cross = await rampart(
      ['restore', backup],
      env(tempDir(), { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }),
    );
    expect(cross.code).toBe(1);
    expect(cross.stderr).toContain('is a PGlite (embedded) backup: restore it without DATABASE_URL');
  }, 60_000);
});

describe.runIf(!!BASE)('backup and restore on PostgreSQL', () => {
  const suffix = randomBytes(5).toString('hex');
  const login = `rampart_bk_login_${suffix}`;
  const stranger = `rampart_bk_stranger_${suffix}`;
  const dbs: PgDatabase[] = [];
  const backup = join(tempDir(), 'rampart.dump');
  let source: PgDatabase;
  let orgs: Record<string, number>;
  const env = (url: string) =>
    cleanEnv({ NODE_ENV: 'development', RAMPART_DATA_DIR: tempDir(), DATABASE_URL: url });
  const as = (url: string, user: string) => {
    const u = new URL(url);
    u.username = user;
    u.password = '';
    return u.toString();
  };
  const superuser = async (sql: string) => {
    const c = new pg.Client({ connectionString: BASE });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const fresh = async () => {
    const d = await createPgDatabase({ prefix: 'rampart_t_bk' });
    dbs.push(d);
    return d;
  };

  beforeAll(async () => {
    source = await fresh();
    const { db } = await openDatabase({ databaseUrl: source.url });
    try {
      orgs = await seed(db);
    } finally {
      await db.close();
    }
    // An ordinary backup login: no SUPERUSER, no BYPASSRLS, a member of rampart_backup (as documented).
    await superuser(`CREATE ROLE ${login} LOGIN NOSUPERUSER NOBYPASSRLS`);
    await superuser(`GRANT rampart_backup TO ${login}`);
    await superuser(`CREATE ROLE ${stranger} LOGIN NOSUPERUSER NOBYPASSRLS`);
  }, 60_000);

  afterAll(async () => {
    for (const d of dbs) await d.drop().catch(() => {});
    await superuser(`DROP ROLE IF EXISTS ${login}`).catch(() => {});
    await superuser(`DROP ROLE IF EXISTS ${stranger}`).catch(() => {});
  });

  it('round trip as an ordinary login in rampart_backup: tenant rows and chains survive a dropped database', async () => {
    const b = await rampart(['backup', '--out', backup], env(as(source.url, login)));
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain(`as rampart_backup`);
    expect(b.stderr).toContain('table public.audit_log'); // progress on stderr
    expect(statSync(backup).mode & 0o777).toBe(0o600);

    await source.drop();
    const target = await fresh();
    const r = await rampart(['restore', backup], env(target.url));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('3 chain(s) checked, 0 with problems');
    const { db } = await openDatabase({ databaseUrl: target.url });
    try {
      const seen = await inspect(db, Object.keys(orgs));
      for (const id of Object.keys(orgs)) expect(seen[id]).toEqual({ secrets: 3, ok: true });
    } finally {
      await db.close();
    }

    const again = await rampart(['restore', backup], env(target.url));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the target database is not empty \(\d+ tables or sequences/);
    const forced = await rampart(['restore', '--force', backup], env(target.url));
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('3 audit chain(s) verified');
  }, 180_000);

  it('round trip as a non-superuser owner without BYPASSRLS (managed PostgreSQL)', async () => {
    const owner = `rampart_bk_owner_${suffix}`;
    await superuser(`CREATE ROLE ${owner} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE`);
    try {
      // What an operator sets up once on managed PostgreSQL (docs/OPERATIONS.md, Database role and Backups).
      await superuser(`GRANT rampart_app TO ${owner}`);
      await superuser(`GRANT rampart_backup TO ${owner}`);
      const src = await fresh();
      const dst = await fresh();
      for (const d of [src, dst])
        await superuser(`ALTER DATABASE ${new URL(d.url).pathname.slice(1)} OWNER TO ${owner}`);
      // PostgreSQL 15: the public schema belongs to the database owner (pg_database_owner).
      const { db } = await openDatabase({ databaseUrl: as(src.url, owner) });
      let seeded: Record<string, number>;
      try {
        seeded = await seed(db);
      } finally {
        await db.close();
      }
      const file = join(tempDir(), 'owner.dump');
      const b = await rampart(['backup', '--out', file], env(as(src.url, owner)));
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout).toContain('as rampart_backup');
      const r = await rampart(['restore', file], env(as(dst.url, owner)));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('3 chain(s) checked, 0 with problems');
      const restored = await openDatabase({ databaseUrl: as(dst.url, owner) });
      try {
        const seen = await inspect(restored.db, Object.keys(seeded));
        for (const id of Object.keys(seeded)) expect(seen[id]).toEqual({ secrets: 3, ok: true });
      } finally {
        await restored.db.close();
      }
      for (const d of [src, dst]) await d.drop();
    } finally {
      await superuser(`DROP ROLE IF EXISTS ${owner}`).catch(() => {});
    }
  }, 180_000);

  it('a restore whose audit chain does not verify exits 1, loudly', async () => {
    const src = await fresh();
    const { db } = await openDatabase({ databaseUrl: src.url });
    let orgId: string;
    try {
      orgId = Object.keys(await seed(db))[0] as string;
      // Tamper as the superuser owner, past the append-only trigger.
      await db.owner((q) =>
        q.exec(`ALTER TABLE audit_log DISABLE TRIGGER USER;
                UPDATE audit_log SET action = 'secret.forged' WHERE org_id = '${orgId}' AND seq = 2;
                ALTER TABLE audit_log ENABLE TRIGGER USER;`),
      );
    } finally {
      await db.close();
    }
    const file = join(tempDir(), 'tampered.dump');
    expect((await rampart(['backup', '--out', file], env(src.url))).code).toBe(0);
    const target = await fresh();
    const r = await rampart(['restore', file], env(target.url));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`TAMPERED ${orgId}  row 2: edited`);
    expect(r.stderr).toContain('RESTORE NOT TRUSTWORTHY: 1 of 3 audit chain(s) did not verify');
  }, 120_000);

  it('says what to do when the user can read no tenant row, and when pg_dump is missing', async () => {
    const target = await fresh();
    const denied = await rampart(
      ['backup', '--out', join(tempDir(), 'x.dump')],
      env(as(target.url, stranger)),
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(
      `cannot read tenant rows: a superuser must run GRANT rampart_backup TO ${stranger}`,
    );

    const out = join(tempDir(), 'y.dump');
    const noTools = await runCli(['admin', 'backup', '--out', out], {
      env: { ...env(target.url), PATH: tempDir() },
    });
    expect(noTools.code).toBe(1);
    expect(noTools.stderr).toContain('pg_dump not found on PATH: install the PostgreSQL client tools');
    expect(existsSync(out)).toBe(false);

    // An older pg_dump first on PATH (a stand-in script answering --version as pg_dump 11 does).
    const bin = tempDir();
    writeFileSync(join(bin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 11.22"\n', { mode: 0o755 });
    const old = await runCli(['admin', 'backup', '--out', out], { env: { ...env(target.url), PATH: bin } });
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(
      /pg_dump 11 cannot dump a PostgreSQL \d+ server: install the PostgreSQL \d+ client tools/,
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('never prints the password of DATABASE_URL', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const u = new URL(BASE as string);
    u.password = password;
    u.pathname = `/rampart_t_bk_missing_${suffix}`;
    const r = await rampart(['backup', '--out', join(tempDir(), 'z.dump')], env(u.toString()));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot connect to the database');
    expect(r.stdout + r.stderr).not.toContain(password);
  }, 60_000);
});
