import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditBatcher } from '../src/platform/audit/batcher.js';
import { iterateAudit } from '../src/platform/audit/export.js';
import { verifyChain } from '../src/platform/audit/verify.js';
import { newId } from '../src/platform/ids.js';
import { createTestDb, ENGINES, type TestDb } from './helpers.js';

describe.each(ENGINES)('batched audit appends (%s)', (engine) => {
  let t: TestDb;
  const orgs = [newId(), newId()];
  beforeAll(async () => {
    t = await createTestDb(engine);
    for (const id of orgs)
      await t.db.platform((q) => q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [id, 'o']));
  });
  afterAll(() => t.close());

  it('writes every queued row, in call order per org, as a valid hash chain; close() flushes the rest', async () => {
    const b = new AuditBatcher(t.db, pino({ level: 'silent' }), { delayMs: 2, maxBatch: 50 });
    for (let i = 0; i < 300; i++) {
      const orgId = orgs[i % 2] as string;
      b.enqueue(orgId, { requestId: `r${i}` }, { orgId, action: 'llm.completion', meta: { i } });
      if (i % 37 === 0) await new Promise((r) => setTimeout(r, 3));
    }
    await b.close();
    for (const [k, orgId] of orgs.entries()) {
      const seen: number[] = [];
      for await (const e of iterateAudit(t.db, orgId)) seen.push(e.meta.i as number);
      expect(seen).toEqual(Array.from({ length: 150 }, (_, j) => j * 2 + k));
      expect(await t.db.org(orgId, (q) => verifyChain(q, orgId))).toMatchObject({ ok: true, count: 150 });
    }
  });

  it('a refused row (secret-looking or oversized metadata) is skipped; the rest of its batch lands', async () => {
    const orgId = orgs[0] as string;
    const before = await t.db.org(orgId, (q) => verifyChain(q, orgId));
    const b = new AuditBatcher(t.db, pino({ level: 'silent' }), { delayMs: 50 });
    b.enqueue(orgId, {}, { orgId, action: 'llm.completion', meta: { n: 1 } });
    b.enqueue(orgId, {}, { orgId, action: 'llm.completion', meta: { token: 'nope' } });
    b.enqueue(orgId, {}, { orgId, action: 'llm.completion', meta: { big: 'x'.repeat(9_000) } });
    b.enqueue(orgId, {}, { orgId, action: 'llm.completion', meta: { n: 2 } });
    await b.close();
    const after = await t.db.org(orgId, (q) => verifyChain(q, orgId));
    expect(after).toMatchObject({ ok: true, count: before.count + 2 });
  });
});
