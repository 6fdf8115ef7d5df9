import type { Queryable } from '../../db/types.js';
import {
  AUDIT_COLUMNS,
  type AuditDbRow,
  type ChainedRow,
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
  let running = GENESIS;
  let expected = 1;
  let count = 0;
  for (;;) {
    const { rows } = await q.query<AuditDbRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log
        WHERE coalesce(org_id, '${PLATFORM_CHAIN_ID}'::uuid) = $1 AND seq >= $2
        ORDER BY coalesce(audit_log.org_id, '${PLATFORM_CHAIN_ID}'::uuid), audit_log.seq LIMIT ${BATCH}`,
      [chainId, expected],
    );
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seq !== expected)
        return { ok: false, count, head: running, problem: { seq: expected, reason: 'missing' } };
      if (r.prev_hash !== running)
        return { ok: false, count, head: running, problem: { seq, reason: 'relinked' } };
      const row: ChainedRow = {
        id: r.id,
        orgId: r.org_id,
        seq,
        at: r.at,
        userId: r.user_id,
        apiKeyId: r.api_key_id,
        ip: r.ip,
        userAgent: r.user_agent,
        requestId: r.request_id,
        action: r.action,
        target: r.target,
        meta: r.meta,
      };
      const hash = chainHash(running, row);
      if (hash !== r.hash) return { ok: false, count, head: running, problem: { seq, reason: 'edited' } };
      running = hash;
      expected++;
      count++;
    }
    if (rows.length < BATCH) break;
  }
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

/** Every chain in the database (owner context): each org's and the platform's. */
export async function listChains(q: Queryable): Promise<Array<string | null>> {
  const { rows } = await q.query<{ org_id: string | null }>(
    'SELECT DISTINCT org_id FROM audit_log UNION SELECT org_id FROM audit_heads',
  );
  return rows.map((r) => r.org_id);
}
