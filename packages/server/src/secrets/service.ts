import { type KeyRing, mask, openString, seal } from '@rampart/core/seal';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { newId } from '../platform/ids.js';

const TABLE = 'org_secrets';
const COLUMN = 'value_sealed';

export interface SecretSummary {
  name: string;
  masked: string;
  updatedAt: string;
}

/**
 * Creates or replaces an org secret, sealed to (org, table, column, row) and audited in the same transaction.
 * The mask is computed once from the plaintext and stored, so listing secrets never opens them.
 */
export async function putSecret(
  q: Queryable,
  ring: KeyRing,
  actor: AuditActor,
  orgId: string,
  name: string,
  value: string,
): Promise<SecretSummary> {
  const existing = await q.query<{ id: string }>(
    'SELECT id FROM org_secrets WHERE org_id = $1 AND name = $2 FOR UPDATE',
    [orgId, name],
  );
  const id = existing.rows[0]?.id ?? newId();
  const sealed = seal(ring, value, { orgId, table: TABLE, column: COLUMN, rowId: id });
  const masked = mask(value);
  const { rows } = await q.query<{ updated_at: Date }>(
    `INSERT INTO org_secrets (id, org_id, name, value_sealed, masked) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (org_id, name) DO UPDATE SET value_sealed = EXCLUDED.value_sealed, masked = EXCLUDED.masked, updated_at = now()
     RETURNING updated_at`,
    [id, orgId, name, sealed, masked],
  );
  await appendAudit(q, actor, {
    orgId,
    action: existing.rows[0] ? 'secret.updated' : 'secret.created',
    target: `secret:${name}`,
  });
  return { name, masked, updatedAt: (rows[0]?.updated_at ?? new Date()).toISOString() };
}

/** Masked listing; never opens a sealed value. */
export async function listSecrets(q: Queryable, orgId: string): Promise<SecretSummary[]> {
  const { rows } = await q.query<{ name: string; masked: string; updated_at: Date }>(
    'SELECT name, masked, updated_at FROM org_secrets WHERE org_id = $1 ORDER BY name',
    [orgId],
  );
  return rows.map((r) => ({ name: r.name, masked: r.masked, updatedAt: r.updated_at.toISOString() }));
}

/** The plaintext, for use inside the server at the moment it is needed (an outbound call). Null if absent. */
export async function readSecret(
  q: Queryable,
  ring: KeyRing,
  orgId: string,
  name: string,
): Promise<string | null> {
  const { rows } = await q.query<{ id: string; value_sealed: string }>(
    'SELECT id, value_sealed FROM org_secrets WHERE org_id = $1 AND name = $2',
    [orgId, name],
  );
  const r = rows[0];
  if (!r) return null;
  return openString(ring, r.value_sealed, { orgId, table: TABLE, column: COLUMN, rowId: r.id });
}
