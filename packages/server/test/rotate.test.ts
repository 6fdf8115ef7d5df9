import { KeyRing, SealError } from '@rampart/core/seal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/platform/ids.js';
import { rotateKeys } from '../src/secrets/rotate.js';
import { listSecrets, putSecret, readSecret } from '../src/secrets/service.js';
import { createTestDb, ENGINES, type TestDb } from './helpers.js';

const k = (n: number) => `k${n}:${Buffer.alloc(32, n).toString('base64')}`;
const ring1 = KeyRing.parse(k(1));
const ring21 = KeyRing.parse(`${k(2)},${k(1)}`);
const ring2 = KeyRing.parse(k(2));
const actor = { requestId: 'test' };

async function newOrg(t: TestDb): Promise<string> {
  const id = newId();
  await t.db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, 'org']));
  return id;
}

async function keyIds(t: TestDb): Promise<string[]> {
  const { rows } = await t.db.owner((q) =>
    q.query<{ kid: string }>(`SELECT split_part(value_sealed, '.', 2) AS kid FROM org_secrets ORDER BY id`),
  );
  return rows.map((r) => r.kid);
}

describe.each(ENGINES)('sealed org secrets and key rotation (%s)', (engine) => {
  let t: TestDb;
  let orgA: string;
  let orgB: string;
  beforeAll(async () => {
    t = await createTestDb(engine);
    orgA = await newOrg(t);
    orgB = await newOrg(t);
  });
  afterAll(() => t.close());

  it('stores only an envelope and a mask; plaintext never reaches the database', async () => {
    const secret = 'sk-live-PLAINTEXT-never-stored-9f8e7d';
    await t.db.org(orgA, (q) => putSecret(q, ring1, actor, orgA, 'openai', secret));
    const { rows } = await t.db.owner((q) => q.query<Record<string, unknown>>('SELECT * FROM org_secrets'));
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain('PLAINTEXT');
    expect(await t.db.org(orgA, (q) => listSecrets(q, orgA))).toMatchObject([
      { name: 'openai', masked: 'sk-...8e7d' },
    ]);
    const audit = await t.db.owner((q) => q.query('SELECT * FROM audit_log'));
    expect(JSON.stringify(audit.rows)).not.toContain(secret);
  });

  it('a ciphertext copied into another org row fails to open (AAD binds org, table, column, row)', async () => {
    await t.db.org(orgB, (q) => putSecret(q, ring1, actor, orgB, 'openai', 'sk-orgB-value-000000000000'));
    // An attacker with write access to the table swaps org A's envelope into org B's row.
    await t.db.owner((q) =>
      q.query(
        `UPDATE org_secrets SET value_sealed = (SELECT value_sealed FROM org_secrets WHERE org_id = $1 AND name = 'openai')
          WHERE org_id = $2 AND name = 'openai'`,
        [orgA, orgB],
      ),
    );
    const err = await t.db.org(orgB, (q) => readSecret(q, ring1, orgB, 'openai')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SealError);
    expect((err as SealError).code).toBe('open_failed');
    // Org A's own value still opens where it belongs.
    expect(await t.db.org(orgA, (q) => readSecret(q, ring1, orgA, 'openai'))).toBe(
      'sk-live-PLAINTEXT-never-stored-9f8e7d',
    );
    await t.db.org(orgB, (q) => putSecret(q, ring1, actor, orgB, 'openai', 'sk-orgB-value-000000000000'));
  });

  it('a row re-pointed at another org (same row id, same envelope) fails to open: the org is in the AAD', async () => {
    const orgC = await newOrg(t);
    await t.db.org(orgA, (q) => putSecret(q, ring1, actor, orgA, 'moved', 'sk-moved-between-tenants-0001'));
    // Owner-level attacker moves the whole row (id and envelope unchanged) into org C.
    await t.db.owner((q) =>
      q.query(`UPDATE org_secrets SET org_id = $2 WHERE org_id = $1 AND name = 'moved'`, [orgA, orgC]),
    );
    await expect(t.db.org(orgC, (q) => readSecret(q, ring1, orgC, 'moved'))).rejects.toMatchObject({
      code: 'open_failed',
    });
    await t.db.owner((q) => q.query(`DELETE FROM org_secrets WHERE name = 'moved'`));
  });

  it('rotate-keys rewraps every value to the newest key; old keys can then be retired', async () => {
    for (let i = 0; i < 450; i++) {
      // More than two 200-row batches.
      await t.db.org(orgA, (q) =>
        putSecret(q, ring1, actor, orgA, `bulk${i}`, `value-${i}-${'x'.repeat(20)}`),
      );
    }
    expect(new Set(await keyIds(t))).toEqual(new Set(['k1']));
    const progress: number[] = [];
    const result = await rotateKeys(t.db, ring21, (p) => {
      if (p.column === 'org_secrets.value_sealed') progress.push(p.done);
    });
    expect(result.rewrapped).toBe(452);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(452);
    expect(progress.length).toBeGreaterThanOrEqual(4); // reported per batch, not only at the end
    expect(new Set(await keyIds(t))).toEqual(new Set(['k2']));
    // Only k2 needed now.
    expect(await t.db.org(orgA, (q) => readSecret(q, ring2, orgA, 'bulk7'))).toBe(
      `value-7-${'x'.repeat(20)}`,
    );
    expect(await t.db.org(orgB, (q) => readSecret(q, ring2, orgB, 'openai'))).toBe(
      'sk-orgB-value-000000000000',
    );
    // The retired key alone can no longer open anything.
    await expect(t.db.org(orgA, (q) => readSecret(q, ring1, orgA, 'bulk7'))).rejects.toThrow(
      /not in the key ring/,
    );
    // Idempotent: a second run finds nothing to do.
    expect((await rotateKeys(t.db, ring21)).rewrapped).toBe(0);
  });

  it('is resumable: an interrupted run continues where it stopped', async () => {
    const ring321 = KeyRing.parse(`${k(3)},${k(2)},${k(1)}`);
    // Orgs are walked in id order (random here): the first batch is org A's 200 rows or org B's single one.
    let firstBatch = 0;
    await expect(
      rotateKeys(t.db, ring321, (p) => {
        if (p.column === 'org_secrets.value_sealed' && p.done > 0) {
          firstBatch = p.done;
          throw new Error('killed mid-run'); // after batch 1
        }
      }),
    ).rejects.toThrow('killed mid-run');
    expect([1, 200]).toContain(firstBatch);
    const mid = await keyIds(t);
    expect(mid.filter((x) => x === 'k3')).toHaveLength(firstBatch);
    const rest = await rotateKeys(t.db, ring321);
    expect(rest.rewrapped).toBe(452 - firstBatch);
    expect(new Set(await keyIds(t))).toEqual(new Set(['k3']));
  });

  it('stops with the row id, not the value, when a value cannot be opened', async () => {
    const orgC = await newOrg(t);
    const k9 = KeyRing.parse(`k9:${Buffer.alloc(32, 9).toString('base64')}`);
    await t.db.org(orgC, (q) => putSecret(q, k9, actor, orgC, 'orphan', 'orphan-secret-value-123456'));
    const err = (await rotateKeys(t.db, KeyRing.parse(k(3))).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/cannot rewrap org_secrets\.value_sealed row [0-9a-f-]{36}: key id "k9"/);
    expect(err.message).not.toContain('orphan-secret-value');
    await t.db.org(orgC, (q) => q.query('DELETE FROM org_secrets WHERE org_id = $1', [orgC]));
  });
});
