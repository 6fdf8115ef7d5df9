/** Second-factor account actions: turn TOTP off, issue new recovery codes. */
import { hashPassword } from '@rampart/core/passwords';
import { generateRecoveryCodes, normalizeRecoveryCode } from '@rampart/core/totp';
import { enqueueMail } from '../../mail/outbox.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import { notice, type Reauth, reauthenticate } from './actions.js';
import { auditAccountEvent } from './events.js';
// Same stretching as the codes issued at TOTP confirmation.
import { RECOVERY_CODE_COST } from './totp.js';

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
