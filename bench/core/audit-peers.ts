// The audit bench's fixtures and unchained peers: the plain table (audit_log without the chain), its INSERT,
// and verifyChain's own cursor read without the checks.
import type { Database } from '../../packages/server/src/db/database.js';
import type { Queryable } from '../../packages/server/src/db/types.js';
import type {
  AuditActor,
  AuditEvent,
  PreparedAudit,
} from '../../packages/server/src/platform/audit/append.js';
import {
  AUDIT_COLUMNS,
  type AuditDbRow,
  PLATFORM_CHAIN_ID,
} from '../../packages/server/src/platform/audit/canonical.js';
import { newId } from '../../packages/server/src/platform/ids.js';

/** The unchained peer: audit_log's event columns, constraints, indexes and row-level security, no hashes. */
const PLAIN = 'bench_audit_plain';
const PLAIN_COLUMNS = 'id, org_id, at, user_id, api_key_id, ip, user_agent, request_id, action, target, meta';
const TENANT_POLICY =
  '(org_id = (SELECT rampart_current_org()) OR (org_id IS NULL AND (SELECT rampart_platform_context())))';
const PAGE = 1000;

export async function createPlainTable(db: Database): Promise<void> {
  await db.owner((q) =>
    q.exec(`
      CREATE TABLE ${PLAIN} (LIKE audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
      ALTER TABLE ${PLAIN} DROP COLUMN prev_hash, DROP COLUMN hash;
      ALTER TABLE ${PLAIN} ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY;
      ALTER TABLE ${PLAIN} ENABLE ROW LEVEL SECURITY;
      ALTER TABLE ${PLAIN} FORCE ROW LEVEL SECURITY;
      CREATE POLICY ${PLAIN}_tenant ON ${PLAIN} USING ${TENANT_POLICY} WITH CHECK ${TENANT_POLICY};
      GRANT SELECT, INSERT ON ${PLAIN} TO rampart_app;`),
  );
}

/** One multi-row INSERT of prepared rows into the plain table (seq from its identity column). */
export async function insertPlain(q: Queryable, rows: readonly PreparedAudit[]): Promise<void> {
  const params: unknown[] = [];
  const tuples: string[] = [];
  for (const r of rows) {
    const base = params.length;
    tuples.push(`(${Array.from({ length: 11 }, (_, k) => `$${base + k + 1}`).join(', ')})`);
    params.push(newId(), r.orgId, r.at, r.userId, r.apiKeyId, r.ip, r.userAgent, r.requestId, r.action);
    params.push(r.target, r.meta);
  }
  await q.query(`INSERT INTO ${PLAIN} (${PLAIN_COLUMNS}) VALUES ${tuples.join(', ')}`, params);
}

export const rowCount = async (db: Database, table: string, orgId: string): Promise<number> => {
  const { rows } = await db.org(orgId, (q) =>
    q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1`, [orgId]),
  );
  return rows[0]?.n ?? 0;
};

/** Reads one chain the way verifyChain does (one cursor, FETCH pages of PAGE rows); `each` sees every row. */
export async function readChain(q: Queryable, orgId: string, each: (r: AuditDbRow) => void): Promise<number> {
  await q.query(
    `DECLARE bench_read NO SCROLL CURSOR FOR
      SELECT ${AUDIT_COLUMNS} FROM audit_log
        WHERE coalesce(org_id, '${PLATFORM_CHAIN_ID}'::uuid) = $1
        ORDER BY coalesce(audit_log.org_id, '${PLATFORM_CHAIN_ID}'::uuid), audit_log.seq`,
    [orgId],
  );
  let count = 0;
  for (;;) {
    const { rows } = await q.query<AuditDbRow>(`FETCH FORWARD ${PAGE} FROM bench_read`);
    for (const r of rows) each(r);
    count += rows.length;
    if (rows.length < PAGE) break;
  }
  await q.query('CLOSE bench_read');
  return count;
}

/** A mutation's audit row, as the dashboard routes write them. */
export const mutation = (orgId: string): [AuditActor, AuditEvent] => [
  {
    userId: '0190f5e2-7c3a-7b8e-9d41-2a6c5e8f1b37',
    ip: '203.0.113.42',
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15',
    requestId: 'req-7f3a9c21',
  },
  {
    orgId,
    action: 'secret.set',
    target: 'secret:OPENAI_API_KEY',
    meta: { name: 'OPENAI_API_KEY', version: 3 },
  },
];

/** The gateway's usage row (`llm.completion`), the batcher's traffic. */
export const usageRow = (orgId: string, i: number): { actor: AuditActor; event: AuditEvent } => ({
  actor: {
    apiKeyId: '0190f5e2-8e14-7f02-a3b5-6c7d8e9f0a1b',
    ip: '198.18.0.7',
    userAgent: 'openai-node/6.1.0',
    requestId: `req-${i}`,
  },
  event: {
    orgId,
    action: 'llm.completion',
    target: 'model:gpt-4o-mini',
    meta: {
      model: 'gpt-4o-mini',
      provider: 'openai',
      region: 'eu',
      status: 200,
      stream: false,
      redacted: true,
      latencyMs: 300 + (i % 700),
      usage: { prompt: 380 + (i % 50), completion: 52, total: 432 + (i % 50) },
    },
  },
});
