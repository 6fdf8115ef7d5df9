/** The re-check of a signed-in user's password (and second factor) before a sensitive change. */
import { dummyVerify, PasswordError, verifyPassword } from '@rampart/core/passwords';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import type { IdentityServices } from '../services.js';
import { invalidCredentials } from './policy.js';
import { consumeRecoveryCode, consumeTotp, type SecondFactor } from './second-factor.js';
import { USER_COLUMNS, type UserRow } from './users.js';

/**
 * Re-checks a signed-in user's current password before a sensitive change (password change, TOTP enrolment). A
 * stolen session must not become an oracle for the password, so this runs under the login throttle exactly as
 * login does: the in-flight slot first (parallel guesses are serialised, not all evaluated), then the back-off,
 * and every failure is charged. With `factor` it is the re-authentication of every account action (docs/SECURITY-CONTROLS.md
 * "Account actions"): the password, plus a TOTP or recovery code when TOTP is on, all in the same throttle slot.
 * @throws AppError invalid_credentials | rate_limited | totp_required | password_required (with factor only)
 */
export async function verifyCurrentPassword(
  s: IdentityServices,
  ip: string,
  userId: string,
  password: string,
  factor?: SecondFactor,
): Promise<{ email: string; totpEnabled: boolean }> {
  const throttleKey = hashSecret('reauth-user', userId);
  const release = await s.throttle.enter(throttleKey, ip);
  try {
    await s.throttle.check(throttleKey, ip);
    const { rows } = await s.db.platform((q) =>
      q.query<UserRow & { email: string }>(`SELECT email, ${USER_COLUMNS} FROM users WHERE id = $1`, [
        userId,
      ]),
    );
    const u = rows[0];
    // Re-authentication for account actions (factor given): an account without a password (signed up with a
    // provider, or invited and never set one) has nothing to re-check; it must set one by reset first.
    if (factor && u && !u.password_hash)
      throw new AppError(
        'password_required',
        'Set a password first (use "Forgot password" on the sign-in page)',
      );
    let ok = false;
    try {
      ok = u?.password_hash
        ? await verifyPassword(password, u.password_hash)
        : await dummyVerify(password, { cost: s.bcryptCost });
    } catch (err) {
      if (!(err instanceof PasswordError)) throw err;
    }
    if (!u || !ok) {
      await s.throttle.failure(throttleKey, ip);
      throw invalidCredentials();
    }
    if (factor && u.totp_enabled) {
      if (!factor.totp && !factor.recoveryCode)
        throw new AppError('totp_required', 'Enter the code from your authenticator app');
      const second = factor.totp
        ? await consumeTotp(s, u, factor.totp)
        : await consumeRecoveryCode(s, u.id, factor.recoveryCode ?? '');
      if (!second) {
        await s.throttle.failure(throttleKey, ip);
        throw invalidCredentials();
      }
    }
    await s.throttle.success(throttleKey, ip);
    return { email: u.email, totpEnabled: u.totp_enabled };
  } finally {
    await release();
  }
}
