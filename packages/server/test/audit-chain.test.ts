import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/platform/audit/append.js';
import { csvField, iterateAudit } from '../src/platform/audit/export.js';
import { verifyChain } from '../src/platform/audit/verify.js';
import { newId } from '../src/platform/ids.js';
import { createTestDb, ENGINES, type TestDb } from './helpers.js';

const actor = { userId: newId(), ip: '203.0.113.7', userAgent: 'vitest', requestId: 'req-1' };

async function newOrg(t: TestDb): Promise<string> {
  const id = newId();
  await t.db.platform((q) =>
    q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, `org-${id.slice(0, 8)}`]),
  );
  return id;
}

async function appendN(t: TestDb, orgId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await t.db.org(orgId, (q) =>
      appendAudit(q, actor, { orgId, action: 'test.event', target: `t:${i}`, meta: { i } }),
    );
  }
}

/** Owner-level tampering: what an attacker with database superuser access could do. */
async function tamper(t: TestDb, sql: string, params: unknown[]): Promise<void> {
  await t.db.owner(async (q) => {
    await q.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await q.query(sql, params);
    await q.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
  });
}

describe.each(ENGINES)('audit log (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(() => t.close());

  it('appends a verifiable chain per org, rolled back with its transaction', async () => {
    const org = await newOrg(t);
    await appendN(t, org, 5);
    await expect(
      t.db.org(org, async (q) => {
        await appendAudit(q, actor, { orgId: org, action: 'test.rolled_back' });
        throw new Error('mutation failed');
      }),
    ).rejects.toThrow('mutation failed');
    const r = await t.db.org(org, (q) => verifyChain(q, org));
    expect(r).toMatchObject({ ok: true, count: 5 });
    const entries = [];
    for await (const e of iterateAudit(t.db, org)) entries.push(e);
    expect(entries.map((e) => e.action)).not.toContain('test.rolled_back');
    expect(entries[4]).toMatchObject({
      seq: 5,
      target: 't:4',
      meta: { i: 4 },
      ip: '203.0.113.7',
      hash: r.head,
    });
  });

  it('exports and verifies in numeric seq order past 10 and across the 1000-row batch boundary', async () => {
    // Regression: `SELECT seq::text AS seq ... ORDER BY seq` sorted by the text alias ('10' < '2').
    const org = await newOrg(t);
    await t.db.org(org, async (q) => {
      for (let i = 0; i < 1005; i++)
        await appendAudit(q, actor, { orgId: org, action: 'test.bulk', meta: { i } });
    });
    const seqs: number[] = [];
    for await (const e of iterateAudit(t.db, org)) seqs.push(e.seq);
    expect(seqs).toEqual(Array.from({ length: 1005 }, (_, i) => i + 1));
    expect(await t.db.org(org, (q) => verifyChain(q, org))).toMatchObject({ ok: true, count: 1005 });
  });

  it('concurrent appends never fork the chain', async () => {
    const org = await newOrg(t);
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        t.db.org(org, (q) => appendAudit(q, actor, { orgId: org, action: 'test.concurrent', meta: { i } })),
      ),
    );
    expect(await t.db.org(org, (q) => verifyChain(q, org))).toMatchObject({ ok: true, count: 25 });
  });

  it('the application role cannot UPDATE, DELETE or TRUNCATE audit rows', async () => {
    const org = await newOrg(t);
    await appendN(t, org, 1);
    for (const sql of ['UPDATE audit_log SET action = $1', 'DELETE FROM audit_log WHERE action <> $1']) {
      await expect(t.db.org(org, (q) => q.query(sql, ['x']))).rejects.toThrow(/permission denied/);
    }
    await expect(t.db.org(org, (q) => q.query('TRUNCATE audit_log'))).rejects.toThrow(/permission denied/);
  });

  it('even the owner is refused UPDATE, DELETE and TRUNCATE by trigger', async () => {
    const org = await newOrg(t);
    await appendN(t, org, 1);
    await expect(
      t.db.owner((q) => q.query(`UPDATE audit_log SET action = 'x.y' WHERE org_id = $1`, [org])),
    ).rejects.toThrow(/append-only/);
    await expect(
      t.db.owner((q) => q.query('DELETE FROM audit_log WHERE org_id = $1', [org])),
    ).rejects.toThrow(/append-only/);
    await expect(t.db.owner((q) => q.query('TRUNCATE audit_log'))).rejects.toThrow(/append-only/);
  });

  it('an org cannot read or append to another org chain', async () => {
    const a = await newOrg(t);
    const b = await newOrg(t);
    await appendN(t, b, 2);
    const seen = await t.db.org(a, (q) => q.query('SELECT * FROM audit_log WHERE org_id = $1', [b]));
    expect(seen.rows).toHaveLength(0);
    await expect(
      t.db.org(a, (q) => appendAudit(q, actor, { orgId: b, action: 'test.forged' })),
    ).rejects.toThrow(/row-level security/);
  });

  describe('tampering is detected', () => {
    it('an edited row', async () => {
      const org = await newOrg(t);
      await appendN(t, org, 4);
      await tamper(t, `UPDATE audit_log SET target = 'innocent' WHERE org_id = $1 AND seq = 2`, [org]);
      expect(await t.db.org(org, (q) => verifyChain(q, org))).toMatchObject({
        ok: false,
        count: 1,
        problem: { seq: 2, reason: 'edited' },
      });
    });

    it('an edited row whose hash was recomputed breaks the link to the next row', async () => {
      const org = await newOrg(t);
      await appendN(t, org, 3);
      await tamper(t, `UPDATE audit_log SET hash = repeat('a', 64) WHERE org_id = $1 AND seq = 2`, [org]);
      const r = await t.db.org(org, (q) => verifyChain(q, org));
      expect(r.ok).toBe(false);
      expect(r.problem?.seq).toBe(2);
    });

    it('a deleted row in the middle', async () => {
      const org = await newOrg(t);
      await appendN(t, org, 4);
      await tamper(t, 'DELETE FROM audit_log WHERE org_id = $1 AND seq = 3', [org]);
      expect(await t.db.org(org, (q) => verifyChain(q, org))).toMatchObject({
        ok: false,
        problem: { seq: 3, reason: 'missing' },
      });
    });

    it('a deleted last row', async () => {
      const org = await newOrg(t);
      await appendN(t, org, 4);
      await tamper(t, 'DELETE FROM audit_log WHERE org_id = $1 AND seq = 4', [org]);
      expect(await t.db.org(org, (q) => verifyChain(q, org))).toMatchObject({
        ok: false,
        count: 3,
        problem: { reason: 'tail_missing' },
      });
    });

    it('rows renumbered to hide a deletion', async () => {
      const org = await newOrg(t);
      await appendN(t, org, 4);
      await tamper(t, 'DELETE FROM audit_log WHERE org_id = $1 AND seq = 2', [org]);
      await tamper(t, 'UPDATE audit_log SET seq = seq - 1 WHERE org_id = $1 AND seq > 2', [org]);
      const r = await t.db.org(org, (q) => verifyChain(q, org));
      expect(r.ok).toBe(false);
      expect(r.problem?.seq).toBe(2);
    });
  });

  it('refuses secret-looking metadata keys (audit metadata is readable by every admin)', async () => {
    const org = await newOrg(t);
    for (const key of ['password', 'apiKey', 'client_secret', 'nested']) {
      const meta = key === 'nested' ? { outer: { token: 'x' } } : { [key]: 'x' };
      await expect(
        t.db.org(org, (q) => appendAudit(q, actor, { orgId: org, action: 'test.meta', meta })),
      ).rejects.toThrow(TypeError);
    }
  });

  it('platform-level events form their own chain, invisible to tenants', async () => {
    await t.db.platform((q) => appendAudit(q, actor, { orgId: null, action: 'auth.login_failed' }));
    expect(await t.db.platform((q) => verifyChain(q, null))).toMatchObject({ ok: true });
    const org = await newOrg(t);
    const seen = await t.db.org(org, (q) => q.query('SELECT * FROM audit_log WHERE org_id IS NULL'));
    expect(seen.rows).toHaveLength(0);
  });
});

describe('CSV export', () => {
  it('neutralises spreadsheet formulas and quotes separators (CSV injection)', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1')).toBe(`'+1`);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(null)).toBe('');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
  });
});
