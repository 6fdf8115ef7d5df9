/** TOTP enrolment: a sealed secret shown once, confirmed by a first code, with 10 recovery codes. */
import { hashPassword } from '@rampart/core/passwords';
import { seal } from '@rampart/core/seal';
import {
  generateRecoveryCodes,
  generateTotpSecret,
  normalizeRecoveryCode,
  totpUri,
} from '@rampart/core/totp';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { verifyCurrentPassword } from './reauth.js';
import { consumeTotp } from './second-factor.js';
import { loadUser } from './users.js';

/** Recovery codes carry ≥ 60 random bits, so they need less stretching than passwords; up to 10 are compared. */
export const RECOVERY_CODE_COST = 10;

/**
 * Starts TOTP enrolment: a fresh secret, sealed at rest, shown once. Not active until confirmed. The current
 * password is required (under the login throttle): a stolen session alone must not be able to put a second
 * factor of the thief's on the account and lock its owner out.
 * @throws AppError invalid_credentials | rate_limited | conflict
 */
export async function enrollTotp(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  email: string,
  password: string,
) {
  await verifyCurrentPassword(s, ip, userId, password);
  const secret = generateTotpSecret();
  const sealed = seal(s.ring, secret, {
    orgId: null,
    table: 'users',
    column: 'totp_secret_sealed',
    rowId: userId,
  });
  const upd = await s.db.platform((q) =>
    q.query('UPDATE users SET totp_secret_sealed = $2 WHERE id = $1 AND NOT totp_enabled', [userId, sealed]),
  );
  if (upd.rowCount === 0) throw new AppError('conflict', 'Two-factor authentication is already enabled');
  await auditAccountEvent(s, userId, actor, 'auth.totp_enrollment_started');
  return { secret, otpauthUrl: totpUri({ secret, account: email, issuer: 'Rampart' }) };
}

/** Confirms enrolment with a first code; returns 10 recovery codes, once. */
export async function confirmTotp(s: IdentityServices, actor: AuditActor, userId: string, code: string) {
  const user = await loadUser(s, 'id', userId);
  if (!user?.totp_secret_sealed) throw new AppError('conflict', 'Start enrolment first');
  if (user.totp_enabled) throw new AppError('conflict', 'Two-factor authentication is already enabled');
  if (!(await consumeTotp(s, user, code)))
    throw new AppError('validation_failed', 'That code is not valid; check the time on your device');
  const codes = generateRecoveryCodes(10);
  const hashes = await Promise.all(
    codes.map((c) =>
      hashPassword(normalizeRecoveryCode(c) ?? c, { cost: Math.min(s.bcryptCost, RECOVERY_CODE_COST) }),
    ),
  );
  await s.db.platform(async (q) => {
    // Guarded flip first: of two concurrent confirmations only one proceeds, so the recovery codes a user was
    // shown are never silently replaced by a racing request's.
    const flipped = await q.query('UPDATE users SET totp_enabled = true WHERE id = $1 AND NOT totp_enabled', [
      userId,
    ]);
    if (flipped.rowCount === 0)
      throw new AppError('conflict', 'Two-factor authentication is already enabled');
    await q.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    for (const h of hashes) {
      await q.query('INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)', [
        newId(),
        userId,
        h,
      ]);
    }
  });
  await auditAccountEvent(s, userId, actor, 'auth.totp_enabled');
  return { recoveryCodes: codes };
}
