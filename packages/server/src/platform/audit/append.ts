import type { Queryable } from '../../db/types.js';
import { newId } from '../ids.js';
import { canonicalJson, chainHash, GENESIS } from './canonical.js';

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
  const meta = event.meta ?? {};
  assertSafeMeta(meta);
  const metaText = canonicalJson(JSON.parse(JSON.stringify(meta)));
  if (Buffer.byteLength(metaText) > MAX_META_BYTES) throw new TypeError('audit meta exceeds 8 KiB');

  const chain = event.orgId ?? 'platform';
  const { rows } = await q.query<{ seq: string; head: string }>(
    `INSERT INTO audit_heads (chain, org_id, seq, head) VALUES ($1, $2, 0, $3)
     ON CONFLICT (chain) DO UPDATE SET chain = EXCLUDED.chain
     RETURNING seq::text AS seq, head`,
    [chain, event.orgId, GENESIS],
  );
  const head = rows[0];
  if (!head) throw new Error('audit head upsert returned no row');

  const row = {
    id: newId(),
    orgId: event.orgId,
    seq: Number(head.seq) + 1,
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
  const hash = chainHash(head.head, row);
  await q.query(
    `INSERT INTO audit_log (id, org_id, seq, at, user_id, api_key_id, ip, user_agent, request_id, action, target, meta, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      row.id,
      row.orgId,
      row.seq,
      row.at,
      row.userId,
      row.apiKeyId,
      row.ip,
      row.userAgent,
      row.requestId,
      row.action,
      row.target,
      row.meta,
      head.head,
      hash,
    ],
  );
  await q.query('UPDATE audit_heads SET seq = $2, head = $3 WHERE chain = $1', [chain, row.seq, hash]);
  return { id: row.id, seq: row.seq, hash };
}
