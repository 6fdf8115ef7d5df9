import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/database.js';
import type { Queryable } from '../../db/types.js';
import {
  AUDIT_COLUMNS,
  type AuditDbRow,
  chainedRow,
  chainHash,
  GENESIS,
  PLATFORM_CHAIN_ID,
} from './canonical.js';

export type ChainProblem =
  | { seq: number; reason: 'edited' }
  | { seq: number; reason: 'missing' }
  | { seq: number; reason: 'relinked' }
  | { seq: number; reason: 'tail_missing' }
  | { seq: number; reason: 'head_mismatch' };

export interface VerifyResult {
  ok: boolean;
  count: number;
  /** Hash of the last row (GENESIS for an empty chain): publish it elsewhere to anchor the log externally. */
  head: string;
  problem?: ChainProblem;
}

const BATCH = 1000;

/**
 * Recomputes one chain (an org, or `null` for the platform chain) from its rows, in constant memory, and
 * compares the result with the stored head. Detects an edited row, a deleted row anywhere (including the
 * last one), and rows re-linked to hide a deletion.
 */
export async function verifyChain(q: Queryable, orgId: string | null): Promise<VerifyResult> {
  const chainId = orgId ?? PLATFORM_CHAIN_ID;
  // One ordered scan through a cursor, fetched a page at a time (constant memory). Paging with a fresh
  // `seq >= $n ... LIMIT` query instead let the planner, without statistics on audit_log (PGlite has no
  // autovacuum), re-read and re-sort the org's whole log for every page: a pass grew with the square of the
  // chain's length. The cursor's plan is made once, so the worst case is one sort.
  const cursor = `audit_verify_${randomBytes(6).toString('hex')}`;
  await q.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR
      SELECT ${AUDIT_COLUMNS} FROM audit_log
        WHERE coalesce(org_id, '${PLATFORM_CHAIN_ID}'::uuid) = $1
        ORDER BY coalesce(audit_log.org_id, '${PLATFORM_CHAIN_ID}'::uuid), audit_log.seq`,
    [chainId],
  );
  const walked = await walk(q, cursor);
  await q.query(`CLOSE ${cursor}`);
  if (!walked.ok) return walked;
  const { head: running, count } = walked;
  const chain = orgId ?? 'platform';
  const { rows: heads } = await q.query<{ seq: string; head: string }>(
    'SELECT seq::text AS seq, head FROM audit_heads WHERE chain = $1',
    [chain],
  );
  const h = heads[0];
  const headSeq = h ? Number(h.seq) : 0;
  if (headSeq > count)
    return { ok: false, count, head: running, problem: { seq: count + 1, reason: 'tail_missing' } };
  if (headSeq !== count || (h && h.head !== running)) {
    return { ok: false, count, head: running, problem: { seq: headSeq, reason: 'head_mismatch' } };
  }
  return { ok: true, count, head: running };
}

/**
 * Every chain to verify: the platform chain (`null`) first when it has a head or a row (checked in the
 * platform context), then every org in `orgs` (a platform table without RLS). Verify each in its own context: `db.platform((q) => verifyChain(q, null))` for the platform
 * chain, `db.org(orgId, (q) => verifyChain(q, orgId))` for an org's. Enumerating from `orgs` does not depend on
 * the connecting owner bypassing RLS (FORCE ROW LEVEL SECURITY hides every audit row from a non-superuser
 * owner without BYPASSRLS). When the owner does bypass RLS, chains whose org row is gone but whose audit rows
 * remain (a hard delete purges both, so only tampering leaves these) are listed too.
 */
export async function listChains(db: Database): Promise<Array<string | null>> {
  const orgIds = await db.orgIds();
  const { rows: platform } = await db.platform((q) =>
    q.query<{ present: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM audit_heads WHERE chain = 'platform')
           OR EXISTS (SELECT 1 FROM audit_log WHERE org_id IS NULL) AS present`,
    ),
  );
  const { rows } = await db.owner((q) =>
    q.query<{ org_id: string }>(
      `SELECT org_id::text AS org_id FROM audit_heads WHERE org_id IS NOT NULL
       UNION SELECT DISTINCT org_id::text FROM audit_log WHERE org_id IS NOT NULL`,
    ),
  );
  const known = new Set(orgIds);
  const orphans = rows.map((r) => r.org_id).filter((id) => !known.has(id));
  return [...(platform[0]?.present ? [null] : []), ...orgIds, ...orphans.sort()];
}

/**
 * Reads the cursor to its end, recomputing the chain: `ok` with the running hash as `head` when every row
 * fits (the stored head is checked by the caller), else the first problem.
 */
async function walk(q: Queryable, cursor: string): Promise<VerifyResult> {
  let running = GENESIS;
  let expected = 1;
  let count = 0;
  for (;;) {
    const { rows } = await q.query<AuditDbRow>(`FETCH FORWARD ${BATCH} FROM ${cursor}`);
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expected)
        return { ok: false, count, head: running, problem: { seq: expected, reason: 'missing' } };
      if (r.prev_hash !== running)
        return { ok: false, count, head: running, problem: { seq, reason: 'relinked' } };
      const row = chainedRow(r);
      const hash = chainHash(running, row);
      if (hash !== r.hash) return { ok: false, count, head: running, problem: { seq, reason: 'edited' } };
      running = hash;
      expected++;
      count++;
    }
    if (rows.length < BATCH) return { ok: true, count, head: running };
  }
}
