import type { Queryable } from '../db/types.js';
import { orgSuspended } from '../identity/authenticate.js';
import type { IdentityServices } from '../identity/services.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { can, isRole, type Role } from '../platform/permissions.js';

/**
 * The rows of a new org: the org and its owner's membership, in the caller's transaction (which must carry the
 * org and the user as context). The one place an org is created: org creation below, sign-up with a password and
 * a first sign-in with a provider. The caller writes the audit rows (`org.created`) in its own order.
 */
export async function insertOrgWithOwner(
  q: Queryable,
  orgId: string,
  ownerId: string,
  name: string,
): Promise<void> {
  await q.query('INSERT INTO orgs (id, name) VALUES ($1, $2)', [orgId, name]);
  await q.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [orgId, ownerId]);
}

export async function createOrg(s: IdentityServices, actor: AuditActor, userId: string, name: string) {
  const orgId = newId();
  await s.db.tx({ orgId, userId }, async (q) => {
    await insertOrgWithOwner(q, orgId, userId, name);
    await appendAudit(q, actor, { orgId, action: 'org.created', target: `org:${orgId}` });
  });
  return { orgId, name, role: 'owner' as Role };
}

/**
 * Hard delete (GDPR): every row the org owns, in one transaction, through `rampart_purge_org` (audit chain,
 * then the org row, cascading to every tenant table), leaving a tombstone with the id and time only. The
 * deletion itself is recorded on the platform chain without the org's name.
 * @throws AppError validation_failed when the typed confirmation does not match the org name | org_suspended
 */
export async function deleteOrg(
  s: IdentityServices,
  actor: AuditActor,
  orgId: string,
  confirm: string,
): Promise<void> {
  // Org context for the purge plus platform context for its audit row: the deletion and its record commit
  // together (audit invariant: one row per mutation, in the mutation's transaction).
  await s.db.tx({ orgId, platform: true }, async (q) => {
    const { rows } = await q.query<{ name: string; suspended: boolean }>(
      'SELECT name, suspended_at IS NOT NULL AS suspended FROM orgs WHERE id = $1 FOR UPDATE',
      [orgId],
    );
    const org = rows[0];
    if (!org) throw new AppError('not_found', 'Org not found');
    // Re-checked under the row lock a suspension also takes: a request that passed requireOrg just before an
    // operator suspended the org must not purge it (and its audit chain) just after.
    if (org.suspended) throw orgSuspended();
    if (confirm !== org.name) {
      throw new AppError('validation_failed', 'Type the org name exactly to confirm deletion');
    }
    await q.query('SELECT rampart_purge_org($1)', [orgId]);
    await appendAudit(q, actor, { orgId: null, action: 'org.deleted', target: `org:${orgId}` });
  });
  // Its API keys and runtime tokens are gone: stop serving them from this node's cache at once.
  await s.auth.forgetOrg(orgId);
}

async function ownerCount(q: Queryable, orgId: string): Promise<number> {
  // Lock the owners so two concurrent demotions cannot both see "one other owner left".
  const { rows } = await q.query<{ user_id: string }>(
    `SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' FOR UPDATE`,
    [orgId],
  );
  return rows.length;
}

export interface MemberView {
  userId: string;
  email: string;
  role: Role;
  createdAt: string;
}

export async function listMembers(s: IdentityServices, orgId: string): Promise<MemberView[]> {
  const { rows } = await s.db.org(orgId, (q) =>
    q.query<{ user_id: string; email: string; role: string; created_at: Date }>(
      `SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.org_id = $1 ORDER BY m.created_at, u.email`,
      [orgId],
    ),
  );
  return rows.map((r) => ({
    userId: r.user_id,
    email: r.email,
    role: isRole(r.role) ? r.role : 'viewer',
    createdAt: r.created_at.toISOString(),
  }));
}

/** Changes a role. Only owners grant or remove ownership; the last owner cannot be demoted. */
export async function changeRole(
  s: IdentityServices,
  actor: AuditActor,
  actorRole: Role,
  orgId: string,
  userId: string,
  role: Role,
) {
  return s.db.org(orgId, async (q) => {
    const { rows } = await q.query<{ role: string }>(
      'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE',
      [orgId, userId],
    );
    const current = rows[0]?.role;
    if (!isRole(current)) throw new AppError('not_found', 'Member not found');
    if ((current === 'owner' || role === 'owner') && !can(actorRole, 'members.manage_owners')) {
      throw new AppError('forbidden', 'Only owners can grant or remove the owner role');
    }
    if (current === 'owner' && role !== 'owner' && (await ownerCount(q, orgId)) <= 1) {
      throw new AppError('conflict', 'The last owner cannot be demoted; make someone else owner first');
    }
    await q.query('UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2', [
      orgId,
      userId,
      role,
    ]);
    await appendAudit(q, actor, {
      orgId,
      action: 'member.role_changed',
      target: `user:${userId}`,
      meta: { from: current, to: role },
    });
    return { userId, role };
  });
}

/** Removes a member (or lets a member leave). The last owner cannot leave. */
export async function removeMember(
  s: IdentityServices,
  actor: AuditActor,
  actorRole: Role,
  orgId: string,
  userId: string,
  self: boolean,
) {
  await s.db.org(orgId, async (q) => {
    const { rows } = await q.query<{ role: string }>(
      'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE',
      [orgId, userId],
    );
    const current = rows[0]?.role;
    if (!isRole(current)) throw new AppError('not_found', 'Member not found');
    if (current === 'owner' && !self && !can(actorRole, 'members.manage_owners'))
      throw new AppError('forbidden', 'Only owners can remove an owner');
    if (current === 'owner' && (await ownerCount(q, orgId)) <= 1) {
      throw new AppError(
        'conflict',
        'The last owner cannot leave; make someone else owner or delete the org',
      );
    }
    await q.query('DELETE FROM memberships WHERE org_id = $1 AND user_id = $2', [orgId, userId]);
    await appendAudit(q, actor, {
      orgId,
      action: 'member.removed',
      target: `user:${userId}`,
      meta: { role: current, self },
    });
  });
}
