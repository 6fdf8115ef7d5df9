/** Password sign-in, with the second factor when on, under the login throttle. */
import { dummyVerify, PasswordError, verifyPassword } from '@rampart/core/passwords';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { invalidCredentials, normalizeEmail } from './policy.js';
import { consumeRecoveryCode, consumeTotp } from './second-factor.js';
import { issueSession } from './session-issue.js';
import { loadUser } from './users.js';

export interface LoginInput {
  email: string;
  password: string;
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}

/**
 * Password login with optional second factor. Unknown email and wrong password are indistinguishable: same
 * code, same body, and unknown users still pay one bcrypt compare. Per-account and per-IP exponential back-off
 * is checked before any work and charged on every failure.
 * @throws AppError invalid_credentials | totp_required | rate_limited
 */
export async function login(s: IdentityServices, actor: AuditActor, ip: string, input: LoginInput) {
  const email = normalizeEmail(input.email);
  const accountKey = hashSecret('account-email', email); // counters in Redis never hold the address itself
  const release = await s.throttle.enter(accountKey, ip);
  try {
    await s.throttle.check(accountKey, ip);
    return await verifyLogin(s, actor, ip, accountKey, email, input);
  } finally {
    await release();
  }
}

async function verifyLogin(
  s: IdentityServices,
  actor: AuditActor,
  ip: string,
  accountKey: string,
  email: string,
  input: LoginInput,
) {
  const user = await loadUser(s, 'email', email);
  let passwordOk = false;
  try {
    passwordOk = user?.password_hash
      ? await verifyPassword(input.password, user.password_hash)
      : await dummyVerify(input.password, { cost: s.bcryptCost });
  } catch (err) {
    if (!(err instanceof PasswordError)) throw err;
    // A malformed stored hash is an operator problem, not a user one: same answer to the client, loud in the log.
    if (err.code === 'malformed_hash')
      s.logger.error({ userId: user?.id }, 'stored password hash is malformed');
  }
  if (!user || !passwordOk) {
    await s.throttle.failure(accountKey, ip);
    await auditAccountEvent(s, user?.id ?? null, actor, 'auth.login_failed', { reason: 'credentials' });
    throw invalidCredentials();
  }

  let amr = ['pwd'];
  if (user.totp_enabled) {
    if (!input.totp && !input.recoveryCode)
      throw new AppError('totp_required', 'Enter the code from your authenticator app');
    const ok = input.totp
      ? await consumeTotp(s, user, input.totp)
      : await consumeRecoveryCode(s, user.id, input.recoveryCode ?? '');
    if (!ok) {
      await s.throttle.failure(accountKey, ip);
      await auditAccountEvent(s, user.id, actor, 'auth.login_failed', { reason: 'second_factor' });
      throw invalidCredentials();
    }
    amr = ['pwd', 'otp'];
    if (input.recoveryCode && !input.totp)
      await auditAccountEvent(s, user.id, { ...actor, userId: user.id }, 'auth.recovery_code_used');
  }
  await s.throttle.success(accountKey, ip);
  await auditAccountEvent(s, user.id, { ...actor, userId: user.id }, 'auth.login', { amr });
  return issueSession(s, { userId: user.id, generation: user.token_generation, totp: amr.includes('otp') });
}
