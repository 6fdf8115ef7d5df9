import type { Queryable } from '../../db/types.js';
import { newId } from '../ids.js';
import { type ChainedRow, canonicalJson, chainHash, GENESIS } from './canonical.js';

/** Who did it and from where; filled from the request by the HTTP layer. */
export interface AuditActor {
  userId?: string | null;
  apiKeyId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export interface AuditEvent {
  /** null for platform-level events (operator actions, failed logins for unknown accounts). */
  orgId: string | null;
  action: string;
  target?: string | null;
  meta?: Record<string, unknown>;
}

// A meta key that smells of a secret is a programming error: audit metadata is readable by every admin.
const SECRETISH = /pass(word)?|secret|token|api_?key|authorization|cookie|credential|private|totp|recovery/i;
const MAX_META_BYTES = 8 * 1024;

function assertSafeMeta(meta: unknown, path = 'meta'): void {
  if (meta && typeof meta === 'object') {
    for (const [k, v] of Object.entries(meta)) {
      if (SECRETISH.test(k))
        throw new TypeError(`audit ${path}.${k}: secret-like keys are not allowed in audit metadata`);
      assertSafeMeta(v, `${path}.${k}`);
    }
  }
}

const clip = (s: string | null | undefined, n: number): string | null => (s == null ? null : s.slice(0, n));

export interface AppendedAudit {
  id: string;
  seq: number;
  hash: string;
}

/** A validated row waiting for its place in the chain (id, seq and hashes are assigned at append time). */
export type PreparedAudit = Omit<ChainedRow, 'id' | 'seq'>;

/**
 * Validates and canonicalises one event. Pure: nothing is written.
 * @throws TypeError when meta carries secret-like keys or exceeds 8 KiB
 */
export function prepareAudit(actor: AuditActor, event: AuditEvent): PreparedAudit {
  const meta = event.meta ?? {};
  assertSafeMeta(meta);
  const metaText = canonicalJson(JSON.parse(JSON.stringify(meta)));
  if (Buffer.byteLength(metaText) > MAX_META_BYTES) throw new TypeError('audit meta exceeds 8 KiB');
  return {
    orgId: event.orgId,
    at: new Date(),
    userId: actor.userId ?? null,
    apiKeyId: actor.apiKeyId ?? null,
    ip: clip(actor.ip, 100),
    userAgent: clip(actor.userAgent, 512),
    requestId: clip(actor.requestId, 100),
    action: event.action,
    target: clip(event.target, 500),
    meta: metaText,
  };
}

const COLUMNS = 14;

/**
 * Appends prepared rows of ONE chain in the caller's transaction with three statements whatever their number:
 * lock the chain head (upsert), one multi-row INSERT with the hashes chained in memory, one head update.
 * Concurrent appenders to the same chain wait on the head row, so the chain never forks.
 * @throws TypeError when the rows belong to different chains
 */
export async function appendPrepared(q: Queryable, rows: readonly PreparedAudit[]): Promise<AppendedAudit[]> {
  const first = rows[0];
  if (!first) return [];
  const orgId = first.orgId;
  if (rows.some((r) => r.orgId !== orgId)) throw new TypeError('appendPrepared: rows must share one chain');
  const chain = orgId ?? 'platform';
  const heads = await q.query<{ seq: string; head: string }>(
    `INSERT INTO audit_heads (chain, org_id, seq, head) VALUES ($1, $2, 0, $3)
     ON CONFLICT (chain) DO UPDATE SET chain = EXCLUDED.chain
     RETURNING seq::text AS seq, head`,
    [chain, orgId, GENESIS],
  );
  const head = heads.rows[0];
  if (!head) throw new Error('audit head upsert returned no row');

  let prev = head.head;
  let seq = Number(head.seq);
  const params: unknown[] = [];
  const tuples: string[] = [];
  const out: AppendedAudit[] = [];
  for (const r of rows) {
    seq++;
    const row = { ...r, id: newId(), seq };
    const hash = chainHash(prev, row);
    const base = params.length;
    tuples.push(`(${Array.from({ length: COLUMNS }, (_, k) => `$${base + k + 1}`).join(', ')})`);
    params.push(
      row.id,
      row.orgId,
      row.seq,
      row.at,
      row.userId,
      row.apiKeyId,
      row.ip,
      row.userAgent,
      row.requestId,
    );
    params.push(row.action, row.target, row.meta, prev, hash);
    out.push({ id: row.id, seq, hash });
    prev = hash;
  }
  await q.query(
    `INSERT INTO audit_log (id, org_id, seq, at, user_id, api_key_id, ip, user_agent, request_id, action, target, meta, prev_hash, hash)
     VALUES ${tuples.join(', ')}`,
    params,
  );
  await q.query('UPDATE audit_heads SET seq = $2, head = $3 WHERE chain = $1', [chain, seq, prev]);
  return out;
}

/**
 * Appends one audit row inside the caller's transaction, so the record commits or rolls back with the change
 * it describes. The chain head row is locked by the upsert, serialising appends per chain (never per table).
 * @throws TypeError when meta carries secret-like keys or exceeds 8 KiB
 * @example await appendAudit(q, actor, { orgId, action: 'secret.set', target: `secret:${name}` })
 */
export async function appendAudit(
  q: Queryable,
  actor: AuditActor,
  event: AuditEvent,
): Promise<AppendedAudit> {
  const [appended] = await appendPrepared(q, [prepareAudit(actor, event)]);
  return appended as AppendedAudit;
}
