/**
 * Maintenance commands (key rotation, plaintext backfill, audit verification) against PostgreSQL where the schema owner is an
 * ordinary role: no SUPERUSER, no BYPASSRLS (typical of managed PostgreSQL). FORCE ROW LEVEL SECURITY binds
 * the owner too, so anything walking tenant data as the owner would silently see no row; these must go org
 * by org under RLS instead.
 */

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyRing, openString, seal } from '@rampart/core/seal';
import { cleanEnv, runCli } from '@rampart/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../src/db/database.js';
import { openPostgres } from '../src/db/engine-postgres.js';
import { migrate } from '../src/db/migrate.js';
import { assertSafeAppRole } from '../src/db/open.js';
import type { Engine } from '../src/db/types.js';
import { appendAudit } from '../src/platform/audit/append.js';
import { listChains, verifyChain } from '../src/platform/audit/verify.js';
import { newId } from '../src/platform/ids.js';
import { backfillSecrets } from '../src/secrets/backfill.js';
import { rotateKeys } from '../src/secrets/rotate.js';
import { putSecret, readSecret } from '../src/secrets/service.js';
import { testRing } from './helpers.js';

const BASE = process.env.TEST_DATABASE_URL;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/dist/bin.js');

const oldSpec = `test1:${Buffer.alloc(32, 7).toString('base64')}`;
const newSpec = `test2:${Buffer.alloc(32, 8).toString('base64')}`;
const oldRing = testRing(oldSpec);
const bothRing = KeyRing.parse(`${newSpec},${oldSpec}`);
const newRing = KeyRing.parse(newSpec);
const actor = { requestId: 'maintenance-nonsuper' };

/** Runs `sql` as the superuser from TEST_DATABASE_URL, against `database` (default: the base database). */
async function asSuperuser<T>(database: string | null, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(BASE ?? '');
  if (database) url.pathname = `/${database}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Sealed values per key id, read org by org (the owner cannot see them). */
async function keyIdsIn(db: Database, orgIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const orgId of orgIds) {
    const { rows } = await db.org(orgId, (q) =>
      q.query<{ kid: string }>(`SELECT split_part(value_sealed, '.', 2) AS kid FROM org_secrets`),
    );
    out.push(...rows.map((r) => r.kid));
  }
  return out;
}

describe.runIf(!!BASE)('maintenance as a non-superuser owner without BYPASSRLS (postgres)', () => {
  const suffix = randomBytes(5).toString('hex');
  const role = `rampart_owner_${suffix}`;
  const dbName = `rampart_t_nonsuper_${suffix}`;
  let url: string;
  let engine: Engine;
  let db: Database;
  const orgA = newId();
  const orgB = newId();
  const userId = newId();

  beforeAll(async () => {
    await asSuperuser(null, async (c) => {
      // rampart_app is cluster-wide; other suites may have created it already.
      await c.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rampart_app') THEN
          CREATE ROLE rampart_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
      await c.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB`);
      await c.query(`GRANT rampart_app TO ${role} WITH ADMIN OPTION`);
      await c.query(`CREATE DATABASE ${dbName} OWNER ${role}`);
    });
    const u = new URL(BASE ?? '');
    u.username = role;
    u.password = '';
    u.pathname = `/${dbName}`;
    url = u.toString();
    engine = await openPostgres({ connectionString: url, maxConnections: 5 });
    await migrate(engine);
    await assertSafeAppRole(engine);
    db = new Database(engine);

    // Seed: two orgs with sealed secrets (each put is audited in the org's chain), platform audit events,
    // and a user with a sealed TOTP secret (platform table).
    for (const [id, name] of [
      [orgA, 'org-a'],
      [orgB, 'org-b'],
    ] as const) {
      await db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, name]));
    }
    for (let i = 0; i < 3; i++)
      await db.org(orgA, (q) => putSecret(q, oldRing, actor, orgA, `a${i}`, `secret-a-${i}-0123456789`));
    for (let i = 0; i < 2; i++)
      await db.org(orgB, (q) => putSecret(q, oldRing, actor, orgB, `b${i}`, `secret-b-${i}-0123456789`));
    await db.platform((q) => appendAudit(q, actor, { orgId: null, action: 'auth.login_failed' }));
    const totp = seal(oldRing, 'JBSWY3DPEHPK3PXP', {
      orgId: null,
      table: 'users',
      column: 'totp_secret_sealed',
      rowId: userId,
    });
    await db.platform((q) =>
      q.query('INSERT INTO users (id, email, totp_secret_sealed) VALUES ($1, $2, $3)', [
        userId,
        'ops@example.com',
        totp,
      ]),
    );
  });

  afterAll(async () => {
    await engine?.close();
    await asSuperuser(null, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  it('the SECURITY DEFINER lookups (API keys, runtime tokens, job work) still see tenant rows', async () => {
    const keyHash = randomBytes(32).toString('hex');
    await db.org(orgA, (q) =>
      q.query(`INSERT INTO api_keys (id, org_id, name, prefix, key_hash) VALUES ($1, $2, 'k', 'rk_x', $3)`, [
        newId(),
        orgA,
        keyHash,
      ]),
    );
    const found = await db.tx({ orgId: null }, (q) =>
      q.query<{ org_id: string }>('SELECT org_id::text AS org_id FROM rampart_find_api_key($1)', [keyHash]),
    );
    expect(found.rows.map((r) => r.org_id)).toEqual([orgA]);
    const tokenHash = randomBytes(32).toString('hex');
    await db.org(orgB, (q) =>
      q.query(
        `INSERT INTO runtime_tokens (id, org_id, name, prefix, token_hash) VALUES ($1, $2, 't', 'rt_x', $3)`,
        [newId(), orgB, tokenHash],
      ),
    );
    const token = await db.tx({ orgId: null }, (q) =>
      q.query<{ org_id: string }>('SELECT org_id::text AS org_id FROM rampart_find_runtime_token($1)', [
        tokenHash,
      ]),
    );
    expect(token.rows.map((r) => r.org_id)).toEqual([orgB]);
    const jobId = newId();
    await db.org(orgA, (q) =>
      q.query(
        `INSERT INTO jobs (id, org_id, name, schedule, url, method, timeout_ms, retries, next_run_at)
         VALUES ($1, $2, 'j', '* * * * *', 'https://x.example.com/', 'GET', 1000, 0, now() - interval '1 minute')`,
        [jobId, orgA],
      ),
    );
    const work = await db.tx({ orgId: null }, (q) =>
      q.query<{ id: string }>(
        `SELECT id::text AS id FROM rampart_job_work(now(), 10, 10) WHERE kind = 'due'`,
      ),
    );
    expect(work.rows.map((r) => r.id)).toEqual([jobId]);
    // The application role still sees only its own tenant's rows.
    const asB = await db.org(orgB, (q) => q.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [keyHash]));
    expect(asB.rowCount).toBe(0);
  });

  it('really is the case the bug hides in: the owner is an ordinary role and sees no tenant row', async () => {
    const { rows } = await db.owner((q) =>
      q.query<{ rolsuper: boolean; rolbypassrls: boolean; secrets: number; audit: number }>(
        `SELECT rolsuper, rolbypassrls, (SELECT count(*)::int FROM org_secrets) AS secrets,
                (SELECT count(*)::int FROM audit_log) AS audit
           FROM pg_roles WHERE rolname = current_user`,
      ),
    );
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false, secrets: 0, audit: 0 });
  });

  it('rotate-keys rewraps every org and platform value, which stay readable under the new key alone', async () => {
    const progress: Array<{ column: string; done: number; total: number }> = [];
    const result = await rotateKeys(db, bothRing, (p) => progress.push(p));
    expect(result.rewrapped).toBe(6);
    expect(result.columns).toEqual(
      expect.arrayContaining([
        { column: 'org_secrets.value_sealed', rewrapped: 5 },
        { column: 'users.totp_secret_sealed', rewrapped: 1 },
      ]),
    );
    const secretsProgress = progress.filter((p) => p.column === 'org_secrets.value_sealed');
    expect(secretsProgress[0]).toEqual({ column: 'org_secrets.value_sealed', done: 0, total: 5 });
    expect(secretsProgress.at(-1)).toEqual({ column: 'org_secrets.value_sealed', done: 5, total: 5 });
    expect(new Set(await keyIdsIn(db, [orgA, orgB]))).toEqual(new Set(['test2']));
    expect(await db.org(orgA, (q) => readSecret(q, newRing, orgA, 'a2'))).toBe('secret-a-2-0123456789');
    expect(await db.org(orgB, (q) => readSecret(q, newRing, orgB, 'b0'))).toBe('secret-b-0-0123456789');
    const { rows } = await db.platform((q) =>
      q.query<{ v: string }>('SELECT totp_secret_sealed AS v FROM users WHERE id = $1', [userId]),
    );
    expect(rows[0]?.v.startsWith('v1.test2.')).toBe(true);
    // Idempotent.
    expect((await rotateKeys(db, bothRing)).rewrapped).toBe(0);
  });

  it('backfill-secrets seals legacy plaintext in org and platform rows the owner cannot see', async () => {
    const legacyUser = newId();
    await db.org(orgB, (q) =>
      q.query(
        `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked)
          VALUES ($1, $2, 'legacy', 'legacy-plaintext-nonsuper-01', '')`,
        [newId(), orgB],
      ),
    );
    await db.platform((q) =>
      q.query('INSERT INTO users (id, email, totp_secret_sealed) VALUES ($1, $2, $3)', [
        legacyUser,
        'legacy-ops@example.com',
        'JBSWY3DPLEGACY',
      ]),
    );
    const result = await backfillSecrets(db, bothRing);
    expect(result.sealed).toBe(2);
    expect(result.columns).toEqual(
      expect.arrayContaining([
        { column: 'org_secrets.value_sealed', sealed: 1 },
        { column: 'users.totp_secret_sealed', sealed: 1 },
      ]),
    );
    expect(await db.org(orgB, (q) => readSecret(q, newRing, orgB, 'legacy'))).toBe(
      'legacy-plaintext-nonsuper-01',
    );
    expect(new Set(await keyIdsIn(db, [orgA, orgB]))).toEqual(new Set(['test2']));
    const { rows } = await db.platform((q) =>
      q.query<{ v: string }>('SELECT totp_secret_sealed AS v FROM users WHERE id = $1', [legacyUser]),
    );
    const ctx = { orgId: null, table: 'users', column: 'totp_secret_sealed', rowId: legacyUser };
    expect(openString(newRing, rows[0]?.v ?? '', ctx)).toBe('JBSWY3DPLEGACY');
    // Idempotent.
    expect((await backfillSecrets(db, bothRing)).sealed).toBe(0);
  });

  it('audit verify lists both org chains and the platform chain and finds them intact', async () => {
    const chains = await listChains(db);
    expect(chains[0]).toBeNull();
    expect(new Set(chains)).toEqual(new Set([null, orgA, orgB]));
    expect(await db.org(orgA, (q) => verifyChain(q, orgA))).toMatchObject({ ok: true, count: 3 });
    expect(await db.org(orgB, (q) => verifyChain(q, orgB))).toMatchObject({ ok: true, count: 2 });
    expect(await db.platform((q) => verifyChain(q, null))).toMatchObject({ ok: true, count: 1 });
  });

  it('detects tampering done by a superuser', async () => {
    await asSuperuser(dbName, async (c) => {
      await c.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await c.query(`UPDATE audit_log SET target = 'forged' WHERE org_id = $1 AND seq = 2`, [orgB]);
      await c.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    });
    expect(await db.org(orgB, (q) => verifyChain(q, orgB))).toMatchObject({
      ok: false,
      problem: { seq: 2, reason: 'edited' },
    });
    expect(await db.org(orgA, (q) => verifyChain(q, orgA))).toMatchObject({ ok: true, count: 3 });
  });

  it.runIf(existsSync(BIN))('`rampart admin audit verify` checks every chain and exits 1', async () => {
    const env = cleanEnv({
      NODE_ENV: 'development',
      DATABASE_URL: url,
      RAMPART_MASTER_KEYS: newSpec,
      RAMPART_JWT_SECRET: Buffer.alloc(32, 9).toString('base64'),
    });
    const { code, stdout: out, stderr: err } = await runCli(['admin', 'audit', 'verify', '--json'], { env });
    expect(err).toMatch(/no RLS bypass/);
    expect(code).toBe(1);
    const report = JSON.parse(out) as { ok: boolean; chains: Array<{ chain: string; ok: boolean }> };
    expect(report.ok).toBe(false);
    expect(report.chains.map((c) => [c.chain, c.ok]).sort()).toEqual(
      [
        ['platform', true],
        [orgA, true],
        [orgB, false],
      ].sort(),
    );
  });
});
