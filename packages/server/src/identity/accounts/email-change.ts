/** Changing the e-mail address: a single-use link to the new address, and its confirmation. */
import { randomBytes } from 'node:crypto';
import { enqueueMail, maskAddress } from '../../mail/outbox.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import { notice, type Reauth, reauthenticate } from './actions.js';
import { auditAccountEvent } from './events.js';
import { normalizeEmail } from './policy.js';
import { revokeCliCredentials } from './sessions.js';

export const EMAIL_CHANGE_TTL_HOURS = 24;

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
