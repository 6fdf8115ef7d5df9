/** Password change by a signed-in user. */
import { hashPassword } from '@rampart/core/passwords';
import { enqueueMail } from '../../mail/outbox.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { enforcePasswordPolicy } from './policy.js';
import { verifyCurrentPassword } from './reauth.js';
import type { SecondFactor } from './second-factor.js';
import { issueSession } from './session-issue.js';
import { revokeCliCredentials, voidPendingEmailChanges } from './sessions.js';

/**
 * Changes the password of a signed-in user after re-checking the current one; every other session is logged out
 * (token generation bump) and a fresh session is returned for this one.
 * @throws AppError invalid_credentials when the current password is wrong
 */
export async function changePassword(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  amr: string[],
  current: string,
  next: string,
  factor: SecondFactor = {},
) {
  const u = await verifyCurrentPassword(s, ip, userId, current, factor).catch(async (err: unknown) => {
    if (err instanceof AppError && err.code === 'invalid_credentials')
      await auditAccountEvent(s, userId, actor, 'auth.reauth_failed');
    throw err;
  });
  enforcePasswordPolicy(next, u.email);
  const hash = await hashPassword(next, { cost: s.bcryptCost });
  const gen = await s.db.platform(async (q) => {
    const r = await q.query<{ token_generation: number }>(
      'UPDATE users SET password_hash = $2, token_generation = token_generation + 1 WHERE id = $1 RETURNING token_generation',
      [userId, hash],
    );
    await revokeCliCredentials(s, q, userId);
    await voidPendingEmailChanges(q, userId);
    await enqueueMail(q, s.ring, {
      to: u.email,
      userId,
      template: { kind: 'security_notice', event: 'password_changed', at: new Date().toISOString() },
    });
    return r.rows[0]?.token_generation ?? 0;
  });
  await auditAccountEvent(s, userId, actor, 'auth.password_changed');
  return issueSession(s, { userId, generation: gen, totp: amr.includes('otp') });
}
