/** Password reset: the mailed single-use token (only its SHA-256 stored) and the reset it allows. */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '@rampart/core/passwords';
import type { Queryable } from '../../db/types.js';
import { enqueueMail } from '../../mail/outbox.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { enforcePasswordPolicy, normalizeEmail } from './policy.js';
import { issueSession } from './session-issue.js';
import { revokeCliCredentials, voidPendingEmailChanges } from './sessions.js';
import { revokeUnverifiedCredentials } from './verification.js';

export const RESET_TTL_MINUTES = 30;

/**
 * Starts a reset. The caller answers 202 before this settles, whatever the email, so neither the body nor the
 * timing says whether an account exists. The token is single-use, expires in 30 minutes, and only its SHA-256
 * is stored.
 */
export async function requestPasswordReset(
  s: IdentityServices,
  actor: AuditActor,
  rawEmail: string,
): Promise<void> {
  const email = normalizeEmail(rawEmail);
  const { rows } = await s.db.platform((q) =>
    q.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]),
  );
  const user = rows[0];
  if (!user) return;
  await s.db.platform((q) => queueResetMail(s, q, user.id, email));
  await auditAccountEvent(s, user.id, actor, 'auth.password_reset_requested');
}

/**
 * Creates a single-use reset token (only its SHA-256 is stored) and queues the mail carrying it, in the caller's
 * transaction: the token and its mail exist together or not at all.
 */
export async function queueResetMail(
  s: IdentityServices,
  q: Queryable,
  userId: string,
  email: string,
): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  await q.query(
    `INSERT INTO password_resets (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + interval '${RESET_TTL_MINUTES} minutes')`,
    [newId(), userId, hashSecret('password-reset', token)],
  );
  await enqueueMail(q, s.ring, {
    to: email,
    userId,
    template: {
      kind: 'password_reset',
      link: `${s.publicUrl}/reset-password#token=${token}`,
      minutes: RESET_TTL_MINUTES,
    },
  });
}

/**
 * Operator support (a compromised or shared account): in the caller's platform transaction the password stops
 * working at once (replaced by the hash of a random secret nobody holds, so the account still counts as having a
 * password and no invitation can set one), every session and refresh family ends (token generation bumped,
 * families revoked), every CLI credential is revoked, pending e-mail changes are voided, and a reset mail is
 * queued through the outbox. Linked sign-in providers are kept (the person's own identity provider).
 * `unusableHash` is computed by the caller before the transaction (bcrypt is slow).
 * @returns the account's address, or undefined for an unknown user (nothing changed)
 */
export async function forcePasswordResetIn(
  s: IdentityServices,
  q: Queryable,
  userId: string,
  unusableHash: string,
): Promise<{ email: string } | undefined> {
  const { rows } = await q.query<{ email: string }>(
    `UPDATE users SET password_hash = $2, token_generation = token_generation + 1 WHERE id = $1 RETURNING email`,
    [userId, unusableHash],
  );
  const u = rows[0];
  if (!u) return undefined;
  await q.query(
    `UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'password_reset'
      WHERE user_id = $1 AND revoked_at IS NULL`,
    [userId],
  );
  // Earlier links die with the old password: only the mail sent now opens the reset.
  await q.query('UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
    userId,
  ]);
  await revokeCliCredentials(s, q, userId);
  await voidPendingEmailChanges(q, userId);
  await queueResetMail(s, q, userId, u.email);
  return { email: u.email };
}

/** The hash of a random secret nobody holds: what a forced reset leaves as the password. */
export const unusablePasswordHash = (s: IdentityServices): Promise<string> =>
  hashPassword(randomBytes(32).toString('base64url'), { cost: s.bcryptCost });

/**
 * Consumes a reset token once, sets the password, and logs out every existing session. The mail reached the
 * mailbox, so the address is proved: an unverified account becomes verified, and that is a claim (the person who
 * signed up may not be the address's owner): every API key and runtime token it created is revoked and the claim
 * is audited. Returns a fresh session unless the account has a second factor (a mailbox alone must not pass it).
 */
export async function resetPassword(
  s: IdentityServices,
  actor: AuditActor,
  token: string,
  password: string,
): Promise<{ userId: string; token?: string; expiresAt?: string; familyId?: string; claimed: boolean }> {
  const done = await s.db.platform(async (q) => {
    const { rows } = await q.query<{
      user_id: string;
      email: string;
      verified: boolean;
      totp_enabled: boolean;
    }>(
      `UPDATE password_resets r SET used_at = now() FROM users u
        WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > now() AND u.id = r.user_id
        RETURNING r.user_id, u.email, u.email_verified_at IS NOT NULL AS verified, u.totp_enabled`,
      [hashSecret('password-reset', token)],
    );
    const r = rows[0];
    if (!r) throw new AppError('invalid_credentials', 'This reset link is invalid or has expired');
    enforcePasswordPolicy(password, r.email);
    const hash = await hashPassword(password, { cost: s.bcryptCost });
    const upd = await q.query<{ token_generation: number }>(
      `UPDATE users SET password_hash = $2, token_generation = token_generation + 1,
              email_verified_at = coalesce(email_verified_at, now())
        WHERE id = $1 RETURNING token_generation`,
      [r.user_id, hash],
    );
    await q.query('UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
      r.user_id,
    ]);
    await revokeCliCredentials(s, q, r.user_id);
    await voidPendingEmailChanges(q, r.user_id);
    // Account recovery also drops linked sign-in providers: a link made by whoever held the account before the
    // reset must not outlive it. The user can link them again.
    await q.query('DELETE FROM oidc_identities WHERE user_id = $1', [r.user_id]);
    // A claim: the second factor was enrolled by whoever held the account before the address was proved. Kept,
    // it would lock the address's owner out of the account they just claimed (and stay the squatter's).
    if (!r.verified) {
      await q.query(
        'UPDATE users SET totp_enabled = false, totp_secret_sealed = NULL, totp_last_step = NULL WHERE id = $1',
        [r.user_id],
      );
      await q.query('DELETE FROM recovery_codes WHERE user_id = $1', [r.user_id]);
    }
    return {
      userId: r.user_id,
      claimed: !r.verified,
      totp: r.totp_enabled && r.verified,
      generation: upd.rows[0]?.token_generation ?? 0,
    };
  });
  const { userId } = done;
  const a = { ...actor, userId };
  await auditAccountEvent(s, userId, a, 'auth.password_reset');
  if (done.claimed) {
    const revoked = await revokeUnverifiedCredentials(s, a, userId);
    await auditAccountEvent(s, userId, a, 'auth.account_claimed', revoked);
  }
  if (done.totp) return { userId, claimed: done.claimed };
  const {
    token: session,
    expiresAt,
    familyId,
  } = await issueSession(s, {
    userId,
    generation: done.generation,
    totp: false,
  });
  return { userId, claimed: done.claimed, token: session, expiresAt, familyId };
}
