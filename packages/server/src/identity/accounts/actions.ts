/**
 * The account page's actions (issue 20 part 5): change the e-mail address (confirmed from the new address), turn
 * TOTP off, issue new recovery codes, and delete the account (GDPR erasure). Each one re-authenticates first
 * (verifyCurrentPassword with a second factor: the current password, plus a TOTP or recovery code when TOTP is
 * on, under the login throttle), sends its security notice through the outbox in the action's own transaction,
 * and writes its account event. Password change and provider link/unlink live with their existing routes.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '@rampart/core/passwords';
import { generateRecoveryCodes, normalizeRecoveryCode } from '@rampart/core/totp';
import type { Queryable } from '../../db/types.js';
import { enqueueMail, maskAddress } from '../../mail/outbox.js';
import type { SecurityEvent } from '../../mail/templates.js';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { normalizeEmail } from './policy.js';
import { verifyCurrentPassword } from './reauth.js';
import type { SecondFactor } from './second-factor.js';
import { revokeCliCredentials } from './sessions.js';
// Same stretching as the codes issued at TOTP confirmation.
import { RECOVERY_CODE_COST } from './totp.js';

export const EMAIL_CHANGE_TTL_HOURS = 24;

/** What every account action is given to re-authenticate. */
export interface Reauth extends SecondFactor {
  password: string;
}

/** Re-authentication of an account action; see verifyCurrentPassword. A failure is an account event. */
export async function reauthenticate(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  r: Reauth,
): Promise<{ email: string; totpEnabled: boolean }> {
  try {
    return await verifyCurrentPassword(s, ip, userId, r.password, {
      totp: r.totp,
      recoveryCode: r.recoveryCode,
    });
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_credentials')
      await auditAccountEvent(s, userId, actor, 'auth.reauth_failed');
    throw err;
  }
}

const notice = (event: SecurityEvent, detail?: string) => ({
  kind: 'security_notice' as const,
  event,
  at: new Date().toISOString(),
  ...(detail ? { detail } : {}),
});

/**
 * Starts an e-mail change: a single-use link (24 h) to the NEW address. The answer is the same whether or not
 * the address already belongs to another account (the confirmation then fails), so it reveals nothing.
 * @throws AppError invalid_credentials | totp_required | password_required | rate_limited | validation_failed
 */
export async function requestEmailChange(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  r: Reauth,
  rawNewEmail: string,
): Promise<void> {
  const me = await reauthenticate(s, actor, ip, userId, r);
  const newEmail = normalizeEmail(rawNewEmail);
  if (newEmail === me.email)
    throw new AppError('validation_failed', 'That is already your e-mail address', {
      details: { issues: [{ in: 'body', path: '/newEmail', message: 'same as the current address' }] },
    });
  const token = randomBytes(32).toString('base64url');
  await s.db.platform(async (q) => {
    // One pending change at a time: a new request supersedes the previous link.
    await q.query('UPDATE email_changes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
      userId,
    ]);
    await q.query(
      `INSERT INTO email_changes (id, user_id, new_email, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + interval '${EMAIL_CHANGE_TTL_HOURS} hours')`,
      [newId(), userId, newEmail, hashSecret('email-change', token)],
    );
    await enqueueMail(q, s.ring, {
      to: newEmail,
      userId,
      template: {
        kind: 'email_change',
        link: `${s.publicUrl}/confirm-email#token=${token}`,
        hours: EMAIL_CHANGE_TTL_HOURS,
        newEmail,
      },
    });
  });
  await auditAccountEvent(s, userId, { ...actor, userId }, 'auth.email_change_requested');
}

/**
 * Confirms an e-mail change with the token from the link (single use, unexpired). The address becomes the
 * account's verified address; every session and CLI credential ends (the user signs in with the new address),
 * pending password-reset links (sent to the old address) stop working, and the OLD address gets the notice.
 * @throws AppError invalid_credentials (unknown, used or expired link) | conflict (address taken meanwhile)
 */
export async function confirmEmailChange(
  s: IdentityServices,
  actor: AuditActor,
  token: string,
): Promise<{ email: string; userId: string }> {
  const r = await s.db.platform(async (q) => {
    const { rows } = await q.query<{ user_id: string; new_email: string }>(
      `UPDATE email_changes SET used_at = now()
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id, new_email`,
      [hashSecret('email-change', token)],
    );
    const change = rows[0];
    if (!change)
      throw new AppError('invalid_credentials', 'This confirmation link is invalid or has expired');
    const taken = await q.query('SELECT 1 FROM users WHERE email = $1', [change.new_email]);
    if (taken.rowCount !== 0)
      throw new AppError(
        'conflict',
        'That address now belongs to another account, so the change was not made; choose another address',
      );
    const old = await q.query<{ email: string }>('SELECT email FROM users WHERE id = $1 FOR UPDATE', [
      change.user_id,
    ]);
    const oldEmail = old.rows[0]?.email;
    if (!oldEmail)
      throw new AppError('invalid_credentials', 'This confirmation link is invalid or has expired');
    try {
      await q.query(
        `UPDATE users SET email = $2, email_verified_at = now(), token_generation = token_generation + 1
          WHERE id = $1`,
        [change.user_id, change.new_email],
      );
    } catch (err) {
      // Taken between the check and the update (unique index): same answer.
      if ((err as { code?: string }).code === '23505')
        throw new AppError('conflict', 'That address now belongs to another account; choose another address');
      throw err;
    }
    await q.query('UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
      change.user_id,
    ]);
    await revokeCliCredentials(s, q, change.user_id);
    await enqueueMail(q, s.ring, {
      to: oldEmail,
      userId: change.user_id,
      template: notice('email_changed', `to ${maskAddress(change.new_email)}`),
    });
    return { email: change.new_email, userId: change.user_id };
  });
  await auditAccountEvent(s, r.userId, { ...actor, userId: r.userId }, 'auth.email_changed');
  return r;
}

/**
 * Turns TOTP off (its secret and every recovery code are deleted).
 * @throws AppError conflict when TOTP is not on, and the re-authentication errors
 */
export async function disableTotp(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  r: Reauth,
): Promise<void> {
  const me = await reauthenticate(s, actor, ip, userId, r);
  if (!me.totpEnabled) throw new AppError('conflict', 'Two-factor authentication is not enabled');
  await s.db.platform(async (q) => {
    await q.query(
      `UPDATE users SET totp_enabled = false, totp_secret_sealed = NULL, totp_last_step = NULL WHERE id = $1`,
      [userId],
    );
    await q.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    await enqueueMail(q, s.ring, { to: me.email, userId, template: notice('totp_disabled') });
  });
  await auditAccountEvent(s, userId, actor, 'auth.totp_disabled');
}

/**
 * Issues 10 new recovery codes (shown once); every earlier code, used or not, stops working.
 * @throws AppError conflict when TOTP is not on, and the re-authentication errors
 */
export async function regenerateRecoveryCodes(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  r: Reauth,
): Promise<{ recoveryCodes: string[] }> {
  const me = await reauthenticate(s, actor, ip, userId, r);
  if (!me.totpEnabled)
    throw new AppError('conflict', 'Recovery codes come with two-factor authentication; turn it on first');
  const codes = generateRecoveryCodes(10);
  const hashes = await Promise.all(
    codes.map((c) =>
      hashPassword(normalizeRecoveryCode(c) ?? c, { cost: Math.min(s.bcryptCost, RECOVERY_CODE_COST) }),
    ),
  );
  await s.db.platform(async (q) => {
    await q.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    for (const h of hashes)
      await q.query('INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)', [
        newId(),
        userId,
        h,
      ]);
    await enqueueMail(q, s.ring, { to: me.email, userId, template: notice('recovery_codes_issued') });
  });
  await auditAccountEvent(s, userId, actor, 'auth.recovery_codes_regenerated');
  return { recoveryCodes: codes };
}

interface OrgPlan {
  orgId: string;
  name: string;
  role: string;
  members: number;
  owners: number;
}

/** Switches the tenant context inside the erasure's single transaction (SET LOCAL semantics, like Database.tx). */
const useOrg = (q: Queryable, orgId: string) => q.query(`SELECT set_config('app.org_id', $1, true)`, [orgId]);

/**
 * GDPR erasure of the signed-in user, in ONE transaction: refused (409) while they are the only owner of an org
 * with other members; otherwise orgs where they are the only member are hard-deleted (rampart_purge_org, as
 * deleteOrg does), their other memberships removed with a `member.removed` row in each org's audit log (user id
 * only), API keys and runtime tokens they created in those orgs revoked (they saw the plaintext once and are
 * leaving), CLI credentials revoked, their unsent mail dropped, and the user row deleted (rampart_erase_user),
 * which cascades to sessions, recovery codes, resets, provider links, account events and e-mail changes. The
 * platform chain records `user.deleted` with the id only; the account_deleted notice is queued first and
 * survives the row (mail_outbox.user_id is ON DELETE SET NULL).
 * @throws AppError validation_failed (confirmation) | conflict (sole owner) | re-authentication errors
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
      const org = await q.query<{ name: string }>('SELECT name FROM orgs WHERE id = $1 FOR UPDATE', [orgId]);
      const members = await q.query<{ user_id: string; role: string }>(
        'SELECT user_id, role FROM memberships WHERE org_id = $1 FOR UPDATE',
        [orgId],
      );
      plans.push({
        orgId,
        name: org.rows[0]?.name ?? '',
        role: members.rows.find((m) => m.user_id === userId)?.role ?? 'member',
        members: members.rows.length,
        owners: members.rows.filter((m) => m.role === 'owner').length,
      });
    }
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
    s.auth.forgetOrg(orgId);
    s.orgChanged(orgId);
  }
  return { deletedOrgIds };
}
