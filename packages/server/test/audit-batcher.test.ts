import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/platform/audit/append.js';
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

  it('bounds its queue: while the writer is stuck, admit() waits past the high-water mark and refuses after its timeout; once unstuck, every queued row lands in order in a few large transactions', async () => {
    const orgId = orgs[1] as string;
    const before = await t.db.org(orgId, (q) => verifyChain(q, orgId));
    // A real transaction holds the org's chain head (an append not yet committed), so the writer blocks on it.
    let holding!: () => void;
    const held = new Promise<void>((r) => {
      holding = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const blocker = t.db.org(orgId, async (q) => {
      await appendAudit(q, {}, { orgId, action: 'test.blocker' });
      holding();
      await gate;
    });
    await held;
    const b = new AuditBatcher(t.db, pino({ level: 'silent' }), {
      delayMs: 1,
      maxBatch: 40,
      highWater: 100,
      admitTimeoutMs: 300,
    });
    await b.admit(orgId); // empty queue: admitted at once
    b.enqueue(orgId, {}, { orgId, action: 'llm.completion', meta: { i: 0 } });
    await new Promise((r) => setTimeout(r, 50)); // the writer has taken row 0 and is waiting for the lock
    for (let i = 1; i < 150; i++) b.enqueue(orgId, {}, { orgId, action: 'llm.completion', meta: { i } });
    expect(b.queued(orgId)).toBe(149);

    const started = Date.now();
    await expect(b.admit(orgId)).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    let admitted = false;
    const waiting = b.admit(orgId).then(() => {
      admitted = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(admitted).toBe(false);

    release();
    await blocker;
    await waiting; // the writer caught up below the mark
    await b.close();
    expect(b.queued(orgId)).toBe(0);
    const seen: number[] = [];
    for await (const e of iterateAudit(t.db, orgId))
      if (e.action === 'llm.completion' && typeof e.meta.i === 'number' && e.seq > before.count + 1)
        seen.push(e.meta.i);
    expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(await t.db.org(orgId, (q) => verifyChain(q, orgId))).toMatchObject({
      ok: true,
      count: before.count + 151,
    });
    // Group commit: the 149 rows queued behind the stuck write went in ceil(149 / 40) = 4 transactions, not 149.
    const { rows } = await t.db.org(orgId, (q) =>
      q.query<{ n: string }>(
        `SELECT count(DISTINCT xmin::text)::text AS n FROM audit_log WHERE org_id = $1 AND seq > $2`,
        [orgId, before.count + 2],
      ),
    );
    expect(Number(rows[0]?.n)).toBe(4);
  });
});
