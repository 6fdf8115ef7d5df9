/**
 * What platform operators read across orgs, for support. Every read is audited on the platform chain, and when
 * one org is opened also on that org's own chain, so its admins see that support looked.
 */
import type { IdentityServices } from '../identity/services.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';

/** Every org (first 1000 by age) with its member count; the listing itself is audited. */
export async function listOrgsForOperator(s: IdentityServices, actor: AuditActor) {
  const rows = await s.db.platform(async (q) => {
    const { rows } = await q.query<{
      id: string;
      name: string;
      region: string;
      created_at: Date;
      members: number;
    }>(
      `SELECT o.id, o.name, o.region, o.created_at, coalesce(c.n, 0) AS members
         FROM orgs o LEFT JOIN rampart_org_member_counts() c ON c.org_id = o.id
        ORDER BY o.created_at, o.id LIMIT 1000`,
    );
    await appendAudit(q, actor, { orgId: null, action: 'operator.orgs_listed' });
    return rows;
  });
  return rows.map((o) => ({
    orgId: o.id,
    name: o.name,
    region: o.region,
    createdAt: o.created_at.toISOString(),
    members: o.members,
  }));
}

/**
 * Records that an operator opened one org's `what` (platform chain, then the org's chain).
 * @throws AppError not_found when the org does not exist (nothing is recorded)
 */
export async function recordOperatorAccess(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  what: string,
): Promise<void> {
  const exists = await s.db.platform((q) => q.query('SELECT 1 FROM orgs WHERE id = $1', [orgId]));
  if (exists.rowCount === 0) throw new AppError('not_found', 'Org not found');
  await s.db.platform((q) =>
    appendAudit(q, actor, { orgId: null, action: 'operator.org_accessed', target: `org:${orgId}` }),
  );
  await s.db.org(orgId, (q) =>
    appendAudit(q, actor, { orgId, action: 'operator.org_accessed', target: `org:${orgId}`, meta: { what } }),
  );
}
