import { randomBytes } from 'node:crypto';
import { isEnvelope, mask, openString } from '@rampart/core/seal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEALED_COLUMNS } from '../src/db/sealed-columns.js';
import { newId } from '../src/platform/ids.js';
import { type BackfillProgress, backfillSecrets } from '../src/secrets/backfill.js';
import { rotateKeys } from '../src/secrets/rotate.js';
import { putSecret } from '../src/secrets/service.js';
import { tablesContaining } from './fixtures.js';
import { createTestDb, ENGINES, type TestDb, testRing } from './helpers.js';

const ring = testRing();
const actor = { requestId: 'test' };
const TENANT_TABLES = ['org_secrets', 'llm_providers', 'jobs', 'alert_channels'];

/** A fresh marker every plaintext of one seeding contains, so `tablesContaining` finds any left behind. */
const newMarker = () => `LEGACY${randomBytes(6).toString('hex')}`;

/** The plaintext expected to be sealed in each `table.column` of each row, keyed `table.column:id`. */
type Expected = Map<string, string>;
const key = (table: string, column: string, id: string) => `${table}.${column}:${id}`;

async function newOrg(t: TestDb): Promise<string> {
  const id = newId();
  await t.db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, 'org']));
  return id;
}

/** Legacy org secrets written as plaintext (as the app role, under RLS), `n` of them, masks left empty. */
async function seedOrgSecrets(t: TestDb, orgId: string, marker: string, n: number, expected: Expected) {
  const ids = Array.from({ length: n }, () => newId());
  const values = ids.map((_, i) => `sk-${marker}-org-secret-${i}`);
  await t.db.org(orgId, (q) =>
    q.query(
      `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked)
        SELECT id, $1, name, v, '' FROM unnest($2::uuid[], $3::text[], $4::text[]) AS s(id, name, v)`,
      [orgId, ids, ids.map((_, i) => `bulk${i}`), values],
    ),
  );
  for (const [i, id] of ids.entries())
    expected.set(key('org_secrets', 'value_sealed', id), values[i] as string);
  return ids;
}

async function idOf(t: TestDb, orgId: string, name: string): Promise<string> {
  const { rows } = await t.db.org(orgId, (q) =>
    q.query<{ id: string }>('SELECT id::text AS id FROM org_secrets WHERE name = $1', [name]),
  );
  return rows[0]?.id ?? '';
}

/**
 * Every non-null value of every registered sealed column, keyed `table.column:id`, read the way the
 * application reads it: tenant tables org by org under RLS, users in the platform context.
 */
async function sealedValues(t: TestDb): Promise<Map<string, { orgId: string | null; value: string }>> {
  const out = new Map<string, { orgId: string | null; value: string }>();
  const orgIds = await t.db.orgIds();
  for (const c of SEALED_COLUMNS) {
    const sql = `SELECT ${c.idColumn}::text AS id, ${c.column} AS v FROM ${c.table} WHERE ${c.column} IS NOT NULL`;
    const scopes = c.orgColumn ? orgIds : [null];
    for (const orgId of scopes) {
      const { rows } = await (orgId === null
        ? t.db.platform((q) => q.query<{ id: string; v: string }>(sql))
        : t.db.org(orgId, (q) => q.query<{ id: string; v: string }>(sql)));
      for (const r of rows) out.set(key(c.table, c.column, r.id), { orgId, value: r.v });
    }
  }
  return out;
}

/** Whole rows of every table holding sealed columns, as JSON: for "a second run changes nothing at all". */
async function dump(t: TestDb): Promise<string> {
  const parts: unknown[] = [];
  for (const orgId of await t.db.orgIds()) {
    for (const table of TENANT_TABLES) {
      parts.push(
        await t.db.org(orgId, (q) => q.query(`SELECT * FROM ${table} ORDER BY id`)).then((r) => r.rows),
      );
    }
  }
  parts.push(await t.db.platform((q) => q.query('SELECT * FROM users ORDER BY id')).then((r) => r.rows));
  return JSON.stringify(parts);
}

/** Asserts each expected value is now an envelope that opens, in its own AAD context, to the original. */
async function expectSealedAs(t: TestDb, expected: Expected): Promise<void> {
  const stored = await sealedValues(t);
  for (const [k, plaintext] of expected) {
    const s = stored.get(k);
    expect(s, k).toBeDefined();
    if (!s) continue;
    expect(isEnvelope(s.value), k).toBe(true);
    const [tc = '', rowId = ''] = k.split(':');
    const [table = '', column = ''] = tc.split('.');
    // The org it was read under (null for users): the AAD org must be the row's own.
    expect(openString(ring, s.value, { orgId: s.orgId, table, column, rowId }), k).toBe(plaintext);
  }
}

describe.each(ENGINES)('rampart admin backfill-secrets: sealing legacy plaintext (%s)', (engine) => {
  let t: TestDb;
  let orgA: string;
  let orgB: string;
  const marker = newMarker();
  const expected: Expected = new Map();
  let current = ''; // a value sealed by the application before the backfill: it must be left as it is
  let keptMaskId = '';
  const userIds: string[] = [];
  let jobNoSecrets = '';
  let emailChannel = '';
  let jobA = '';

  beforeAll(async () => {
    t = await createTestDb(engine);
    orgA = await newOrg(t);
    orgB = await newOrg(t);

    // org_secrets: 250 in org A (more than one 200-row batch), a mask already present on one of them.
    const bulk = await seedOrgSecrets(t, orgA, marker, 250, expected);
    keptMaskId = bulk[0] as string;
    await t.db.org(orgA, (q) =>
      q.query(`UPDATE org_secrets SET masked = 'kept' WHERE id = $1`, [keptMaskId]),
    );
    // Org B: a plaintext that starts like an envelope, and a value the application sealed properly.
    const looksSealed = newId();
    const v1Plain = `v1.${marker}.plain.text`;
    await t.db.org(orgB, (q) =>
      q.query(
        `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked) VALUES ($1, $2, 'v1like', $3, '')`,
        [looksSealed, orgB, v1Plain],
      ),
    );
    expected.set(key('org_secrets', 'value_sealed', looksSealed), v1Plain);
    await t.db.org(orgB, (q) => putSecret(q, ring, actor, orgB, 'current', 'sk-current-sealed-value-0001'));
    current = await t.db
      .org(orgB, (q) =>
        q.query<{ v: string }>(`SELECT value_sealed AS v FROM org_secrets WHERE name = 'current'`),
      )
      .then((r) => r.rows[0]?.v ?? '');

    // llm_providers: one legacy key per org, mask empty.
    for (const orgId of [orgA, orgB]) {
      const id = newId();
      const apiKey = `sk-proj-${marker}-${orgId.slice(0, 8)}`;
      await t.db.org(orgId, (q) =>
        q.query(
          `INSERT INTO llm_providers (id, org_id, name, base_url, api_key_sealed, api_key_masked)
            VALUES ($1, $2, 'openai', 'https://api.openai.com/v1', $3, '')`,
          [id, orgId, apiKey],
        ),
      );
      expected.set(key('llm_providers', 'api_key_sealed', id), apiKey);
    }

    // jobs: headers (JSON text) and auth in plaintext; one with headers only, one with an env: auth
    // reference only, one with neither (stays NULL).
    const insertJob = async (orgId: string, headers: string | null, auth: string | null) => {
      const id = newId();
      await t.db.org(orgId, (q) =>
        q.query(
          `INSERT INTO jobs (id, org_id, name, schedule, url, method, headers_sealed, auth_type, auth_sealed, timeout_ms, retries)
            VALUES ($1, $2, 'job', '*/5 * * * *', 'https://example.com/hook', 'POST', $3, $4, $5, 5000, 0)`,
          [id, orgId, headers, auth === null ? null : 'bearer', auth],
        ),
      );
      if (headers !== null) expected.set(key('jobs', 'headers_sealed', id), headers);
      if (auth !== null) expected.set(key('jobs', 'auth_sealed', id), auth);
      return id;
    };
    jobA = await insertJob(
      orgA,
      JSON.stringify({ 'X-Api-Key': `${marker}-header-a`, Accept: 'application/json' }),
      `${marker}-bearer-a`,
    );
    await insertJob(orgB, JSON.stringify({ Authorization: `Token ${marker}-header-b` }), null);
    await insertJob(orgB, null, `env:JOB_${marker}_TOKEN`);
    jobNoSecrets = await insertJob(orgA, null, null);

    // alert_channels: a webhook signing secret and a Slack URL in plaintext, masks NULL; e-mail has none.
    const insertChannel = async (orgId: string, type: string, secret: string | null) => {
      const id = newId();
      await t.db.org(orgId, (q) =>
        q.query(
          `INSERT INTO alert_channels (id, org_id, type, name, config, secret_sealed)
            VALUES ($1, $2, $3, 'ch', '{}', $4)`,
          [id, orgId, type, secret],
        ),
      );
      if (secret !== null) expected.set(key('alert_channels', 'secret_sealed', id), secret);
      return id;
    };
    await insertChannel(orgA, 'webhook', `whsec_${marker}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    await insertChannel(orgB, 'slack', `https://hooks.slack.com/services/T0/B0/${marker}`);
    emailChannel = await insertChannel(orgB, 'email', null);

    // users (platform table): two TOTP secrets in plaintext, one user without TOTP.
    for (const [i, totp] of [`JBSWY3DP${marker}`, `KRSXG5CT${marker}`, null].entries()) {
      const id = newId();
      userIds.push(id);
      await t.db.platform((q) =>
        q.query('INSERT INTO users (id, email, totp_secret_sealed) VALUES ($1, $2, $3)', [
          id,
          `backfill-${i}-${id.slice(0, 8)}@example.test`,
          totp,
        ]),
      );
      if (totp !== null) expected.set(key('users', 'totp_secret_sealed', id), totp);
    }

    // OIDC (platform tables): a provider's client secret and an in-flight sign-in's PKCE verifier in plaintext.
    const providerId = newId();
    await t.db.platform((q) =>
      q.query(
        `INSERT INTO oidc_providers (id, name, display_name, issuer, client_id, client_secret_sealed, client_secret_masked)
          VALUES ($1, 'legacy', 'Legacy', 'https://idp.example.com', 'client', $2, '')`,
        [providerId, `oidc-secret-${marker}`],
      ),
    );
    expected.set(key('oidc_providers', 'client_secret_sealed', providerId), `oidc-secret-${marker}`);
    const stateId = newId();
    await t.db.platform((q) =>
      q.query(
        `INSERT INTO oidc_login_states (id, state_hash, provider_id, nonce, code_verifier_sealed, binding_hash, expires_at)
          VALUES ($1, $2, $3, 'n', $4, 'b', now() + interval '10 minutes')`,
        [stateId, `state-${stateId}`, providerId, `verifier-${marker}`],
      ),
    );
    expected.set(key('oidc_login_states', 'code_verifier_sealed', stateId), `verifier-${marker}`);
    // A platform setting stored before sealing existed (issue 27): its row id is the setting's key.
    await t.db.platform((q) =>
      q.query(`INSERT INTO platform_settings (key, value_sealed) VALUES ('turnstile_secret', $1)`, [
        `turnstile-${marker}`,
      ]),
    );
    expected.set(key('platform_settings', 'value_sealed', 'turnstile_secret'), `turnstile-${marker}`);
  });
  afterAll(() => t.close());

  it('rotate-keys refuses legacy plaintext, naming the row and the fix, never the value', async () => {
    const err = (await rotateKeys(t.db, ring).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /cannot rewrap org_secrets\.value_sealed row [0-9a-f-]{36}: sealed value is malformed.*rampart admin backfill-secrets/,
    );
    expect(err.message).not.toContain(marker);
  });

  it('seals every legacy plaintext in every registered column, across orgs, in batches', async () => {
    expect((await tablesContaining(t.db, marker)).sort()).toEqual(
      [
        'alert_channels',
        'jobs',
        'llm_providers',
        'oidc_login_states',
        'oidc_providers',
        'org_secrets',
        'platform_settings',
        'users',
      ].sort(),
    );
    const progress: BackfillProgress[] = [];
    const result = await backfillSecrets(t.db, ring, (p) => progress.push(p));

    // No plaintext is left anywhere in the database.
    expect(await tablesContaining(t.db, marker)).toEqual([]);
    // Each value opens, in its own org/table/column/row context, to exactly what was there.
    await expectSealedAs(t, expected);

    expect(result.columns).toEqual([
      { column: 'org_secrets.value_sealed', sealed: 251 },
      { column: 'users.totp_secret_sealed', sealed: 2 },
      { column: 'oidc_providers.client_secret_sealed', sealed: 1 },
      { column: 'platform_settings.value_sealed', sealed: 1 },
      { column: 'oidc_login_states.code_verifier_sealed', sealed: 1 },
      { column: 'mail_outbox.payload_sealed', sealed: 0 },
      { column: 'llm_providers.api_key_sealed', sealed: 2 },
      { column: 'jobs.headers_sealed', sealed: 2 },
      { column: 'jobs.auth_sealed', sealed: 2 },
      { column: 'alert_channels.secret_sealed', sealed: 2 },
      { column: 'audit_sinks.secret_sealed', sealed: 0 },
      { column: 'widget_conversation_messages.question_sealed', sealed: 0 },
      { column: 'widget_conversation_messages.reply_sealed', sealed: 0 },
    ]);
    expect(result.sealed).toBe(264);
    expect(result.sealed).toBe(expected.size);
    // Progress per batch, not only at the end: 0, then org A's 200 + 50 and org B's 1, in org id order.
    const secrets = progress.filter((p) => p.column === 'org_secrets.value_sealed');
    expect(secrets[0]).toEqual({ column: 'org_secrets.value_sealed', done: 0, total: 251 });
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    expect(secrets.at(-1)).toEqual({ column: 'org_secrets.value_sealed', done: 251, total: 251 });
    // Org A's first batch is a full 200 rows, wherever org A falls in the walk.
    expect(secrets.slice(1).map((p, i) => p.done - (secrets[i]?.done ?? 0))).toContain(200);

    const stored = await sealedValues(t);
    // The application's own envelope was left untouched; absent values stayed absent.
    expect(stored.get(key('org_secrets', 'value_sealed', await idOf(t, orgB, 'current')))?.value).toBe(
      current,
    );
    expect(stored.has(key('jobs', 'headers_sealed', jobNoSecrets))).toBe(false);
    expect(stored.has(key('jobs', 'auth_sealed', jobNoSecrets))).toBe(false);
    expect(stored.has(key('alert_channels', 'secret_sealed', emailChannel))).toBe(false);
    expect(stored.has(key('users', 'totp_secret_sealed', userIds[2] as string))).toBe(false);
  });

  it('fills empty display masks from the plaintext, keeps existing ones, and leaves job masks alone', async () => {
    const secrets = await t.db.org(orgA, (q) =>
      q.query<{ id: string; masked: string }>('SELECT id::text AS id, masked FROM org_secrets'),
    );
    for (const r of secrets.rows) {
      const plaintext = expected.get(key('org_secrets', 'value_sealed', r.id));
      expect(r.masked).toBe(r.id === keptMaskId ? 'kept' : mask(plaintext ?? ''));
    }
    const providers = await t.db.org(orgB, (q) =>
      q.query<{ id: string; m: string }>('SELECT id::text AS id, api_key_masked AS m FROM llm_providers'),
    );
    expect(providers.rows.map((r) => r.m)).toEqual([
      mask(expected.get(key('llm_providers', 'api_key_sealed', providers.rows[0]?.id ?? '')) ?? ''),
    ]);
    expect(providers.rows[0]?.m).toMatch(/^sk-\.\.\..{4}$/);
    const channels = await t.db.org(orgA, (q) =>
      q.query<{ m: string | null }>('SELECT secret_masked AS m FROM alert_channels'),
    );
    expect(channels.rows.map((r) => r.m)).toEqual(['...AAAA']);
    const job = await t.db.org(orgA, (q) =>
      q.query<{ m: string | null; h: unknown }>(
        'SELECT auth_masked AS m, headers_masked AS h FROM jobs WHERE id = $1',
        [jobA],
      ),
    );
    expect(job.rows[0]).toEqual({ m: null, h: {} });
  });

  it('is idempotent: a second run seals nothing and changes no byte', async () => {
    const before = await dump(t);
    const progress: BackfillProgress[] = [];
    const again = await backfillSecrets(t.db, ring, (p) => progress.push(p));
    expect(again.sealed).toBe(0);
    expect(again.columns.every((c) => c.sealed === 0)).toBe(true);
    expect(progress.every((p) => p.done === 0 && p.total === 0)).toBe(true);
    expect(await dump(t)).toBe(before);
  });

  it('is resumable: an interrupted run leaves whole batches sealed and the next run finishes the rest', async () => {
    const orgC = await newOrg(t);
    const markerC = newMarker();
    const resumed: Expected = new Map();
    await seedOrgSecrets(t, orgC, markerC, 450, resumed);

    await expect(
      backfillSecrets(t.db, ring, (p) => {
        if (p.column === 'org_secrets.value_sealed' && p.done > 0) throw new Error('killed mid-run');
      }),
    ).rejects.toThrow('killed mid-run');
    const mid = await t.db.org(orgC, (q) =>
      q.query<{ v: string }>('SELECT value_sealed AS v FROM org_secrets'),
    );
    expect(mid.rows.filter((r) => isEnvelope(r.v))).toHaveLength(200); // exactly the first batch
    expect(await tablesContaining(t.db, markerC)).toEqual(['org_secrets']);

    const rest = await backfillSecrets(t.db, ring);
    expect(rest.sealed).toBe(250);
    expect(rest.columns.find((c) => c.column === 'org_secrets.value_sealed')?.sealed).toBe(250);
    expect(await tablesContaining(t.db, markerC)).toEqual([]);
    await expectSealedAs(t, resumed);
    await expectSealedAs(t, expected);
    expect((await backfillSecrets(t.db, ring)).sealed).toBe(0);
  });
});
