/** Account deletion (GDPR erasure), in one transaction. */
import type { Queryable } from '../../db/types.js';
import { enqueueMail } from '../../mail/outbox.js';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import type { IdentityServices } from '../services.js';
import { notice, type Reauth, reauthenticate } from './actions.js';
import { normalizeEmail } from './policy.js';
import { revokeCliCredentials } from './sessions.js';

interface OrgPlan {
  orgId: string;
  name: string;
  role: string;
  members: number;
  owners: number;
  /** Suspended by a platform operator: the erasure is refused (org_suspended). */
  suspended: boolean;
}

/** Switches the tenant context inside the erasure's single transaction (SET LOCAL semantics, like Database.tx). */
const useOrg = (q: Queryable, orgId: string) => q.query(`SELECT set_config('app.org_id', $1, true)`, [orgId]);

/**
 * GDPR erasure of the signed-in user, in ONE transaction: refused (409) while they are the only owner of an org
 * with other members, and (403 org_suspended) while they belong to an org a platform operator suspended; otherwise orgs where they are the only member are hard-deleted (rampart_purge_org, as
 * deleteOrg does), their other memberships removed with a `member.removed` row in each org's audit log (user id
 * only), API keys and runtime tokens they created in those orgs revoked (they saw the plaintext once and are
 * leaving), CLI credentials revoked, their unsent mail dropped, and the user row deleted (rampart_erase_user),
 * which cascades to sessions, recovery codes, resets, provider links, account events and e-mail changes. The
 * platform chain records `user.deleted` with the id only; the account_deleted notice is queued first and
 * survives the row (mail_outbox.user_id is ON DELETE SET NULL).
 * @throws AppError validation_failed (confirmation) | conflict (sole owner) | org_suspended | re-authentication errors
 */
export async function deleteAccount(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  r: Reauth,
  confirm: string,
): Promise<{ deletedOrgIds: string[] }> {
  const me = await reauthenticate(s, actor, ip, userId, r);
  if (normalizeEmail(confirm) !== me.email)
    throw new AppError('validation_failed', 'Type your e-mail address exactly to confirm deletion', {
      details: { issues: [{ in: 'body', path: '/confirm', message: 'does not match your e-mail address' }] },
    });
  const a: AuditActor = { ...actor, userId };
  const deletedOrgIds: string[] = [];
  const touchedOrgIds: string[] = [];
  await s.db.tx({ orgId: null, userId, platform: true }, async (q) => {
    const user = await q.query<{ email: string }>('SELECT email FROM users WHERE id = $1 FOR UPDATE', [
      userId,
    ]);
    const email = user.rows[0]?.email;
    if (!email) throw new AppError('unauthorized', 'This account no longer exists');
    const mine = await q.query<{ org_id: string }>(
      'SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY org_id',
      [userId],
    );
    const plans: OrgPlan[] = [];
    for (const { org_id: orgId } of mine.rows) {
      await useOrg(q, orgId);
      const org = await q.query<{ name: string; suspended: boolean }>(
        'SELECT name, suspended_at IS NOT NULL AS suspended FROM orgs WHERE id = $1 FOR UPDATE',
        [orgId],
      );
      const members = await q.query<{ user_id: string; role: string }>(
        'SELECT user_id, role FROM memberships WHERE org_id = $1 FOR UPDATE',
        [orgId],
      );
      plans.push({
        orgId,
        name: org.rows[0]?.name ?? '',
        suspended: org.rows[0]?.suspended ?? false,
        role: members.rows.find((m) => m.user_id === userId)?.role ?? 'member',
        members: members.rows.length,
        owners: members.rows.filter((m) => m.role === 'owner').length,
      });
    }
    // A suspended org is held as an operator left it: it is not deleted (DELETE /api/orgs/:orgId is refused) and
    // nobody leaves it, so erasing the account waits for a resume or for support.
    const suspended = plans.filter((p) => p.suspended);
    if (suspended.length > 0)
      throw new AppError(
        'org_suspended',
        'You belong to an organization that is suspended; contact support before deleting your account',
        { details: { orgs: suspended.map((p) => ({ orgId: p.orgId, name: p.name })) } },
      );
    const blocking = plans.filter((p) => p.role === 'owner' && p.owners === 1 && p.members > 1);
    if (blocking.length > 0)
      throw new AppError(
        'conflict',
        'You are the only owner of an org that has other members: make another member owner or delete the org first',
        { details: { orgs: blocking.map((p) => ({ orgId: p.orgId, name: p.name })) } },
      );
    for (const p of plans) {
      await useOrg(q, p.orgId);
      if (p.members === 1) {
        await q.query('SELECT rampart_purge_org($1)', [p.orgId]);
        await appendAudit(q, a, {
          orgId: null,
          action: 'org.deleted',
          target: `org:${p.orgId}`,
          meta: { reason: 'account_deleted' },
        });
        deletedOrgIds.push(p.orgId);
        continue;
      }
      touchedOrgIds.push(p.orgId);
      for (const table of ['api_keys', 'runtime_tokens'] as const) {
        const revoked = await q.query<{ id: string }>(
          `UPDATE ${table} SET revoked_at = now() WHERE org_id = $1 AND created_by = $2 AND revoked_at IS NULL RETURNING id`,
          [p.orgId, userId],
        );
        for (const k of revoked.rows)
          await appendAudit(q, a, {
            orgId: p.orgId,
            action: table === 'api_keys' ? 'api_key.revoked' : 'runtime_token.revoked',
            target: `${table === 'api_keys' ? 'api_key' : 'runtime_token'}:${k.id}`,
            meta: { reason: 'account_deleted' },
          });
      }
      await q.query('DELETE FROM memberships WHERE org_id = $1 AND user_id = $2', [p.orgId, userId]);
      await appendAudit(q, a, {
        orgId: p.orgId,
        action: 'member.removed',
        target: `user:${userId}`,
        meta: { role: p.role, self: true, reason: 'account_deleted' },
      });
    }
    await q.query(`SELECT set_config('app.org_id', '', true)`);
    await revokeCliCredentials(s, q, userId);
    // Mail about this account that has not left yet (reset links, a pending e-mail change) is dropped with its
    // sealed copy of the address; the delivery records stay.
    await q.query(
      `UPDATE mail_outbox SET status = 'failed', payload_sealed = NULL, failed_at = now(), last_error = 'account deleted'
        WHERE user_id = $1 AND status = 'queued'`,
      [userId],
    );
    await enqueueMail(q, s.ring, { to: email, userId, template: notice('account_deleted') });
    // Sign-in results waiting to be linked carry the address without a user id.
    await q.query('DELETE FROM oidc_login_results WHERE email = $1 AND user_id IS NULL', [email]);
    await appendAudit(q, a, {
      orgId: null,
      action: 'user.deleted',
      target: `user:${userId}`,
      meta: { orgsDeleted: deletedOrgIds.length, membershipsRemoved: touchedOrgIds.length },
    });
    await q.query('SELECT rampart_erase_user($1)', [userId]);
  });
  // API keys, runtime tokens and CLI credentials are gone or revoked: stop serving them from this node's cache.
  for (const orgId of [...deletedOrgIds, ...touchedOrgIds]) {
    await s.auth.forgetOrg(orgId);
    await s.orgChanged(orgId);
  }
  return { deletedOrgIds };
}
