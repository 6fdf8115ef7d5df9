import { createHash } from 'node:crypto';

/** The hash that precedes the first row of every chain. */
export const GENESIS = '0'.repeat(64);

/** UUID stand-in for the platform chain (org_id NULL) in the (chain, seq) unique index. */
export const PLATFORM_CHAIN_ID = '00000000-0000-0000-0000-000000000000';

/** JSON with object keys sorted at every depth, so equal values always serialise to equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Every field that is chained. Adding a field means a new version tag, so old rows still verify. */
export interface ChainedRow {
  id: string;
  orgId: string | null;
  seq: number;
  at: Date;
  userId: string | null;
  apiKeyId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  action: string;
  target: string | null;
  /** Canonical JSON text exactly as stored. */
  meta: string;
}

/** hash = sha256(prev_hash || canonical(row)), hex. */
export function chainHash(prevHash: string, row: ChainedRow): string {
  const canonical = JSON.stringify([
    'rampart.audit.v1',
    row.id,
    row.orgId,
    row.seq,
    row.at.toISOString(),
    row.userId,
    row.apiKeyId,
    row.ip,
    row.userAgent,
    row.requestId,
    row.action,
    row.target,
    row.meta,
  ]);
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

/** An audit_log row as read back (seq as text: int8 parses differently on the two engines). */
export interface AuditDbRow {
  id: string;
  org_id: string | null;
  seq: string;
  at: Date;
  user_id: string | null;
  api_key_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  action: string;
  target: string | null;
  meta: string;
  prev_hash: string;
  hash: string;
}

/** The select list producing an {@link AuditDbRow}. */
export const AUDIT_COLUMNS =
  'id, org_id, seq::text AS seq, at, user_id, api_key_id, ip, user_agent, request_id, action, target, meta, prev_hash, hash';

/** The chained fields of a stored row (seq as a number), keys in the public entry's order. */
export const chainedRow = (r: AuditDbRow): ChainedRow => ({
  id: r.id,
  seq: Number(r.seq),
  at: r.at,
  orgId: r.org_id,
  userId: r.user_id,
  apiKeyId: r.api_key_id,
  ip: r.ip,
  userAgent: r.user_agent,
  requestId: r.request_id,
  action: r.action,
  target: r.target,
  meta: r.meta,
});
