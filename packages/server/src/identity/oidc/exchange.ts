/**
 * What the dashboard does with a sign-in's one-time result: trade it for a session (with the account's second
 * factor, under a throttle of its own), or link the identity to the existing account with that account's password.
 * And the proof of control a signed-in user gives before starting a link.
 */
import type { FastifyReply } from 'fastify';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { auditAccountEvent } from '../accounts/events.js';
import { login } from '../accounts/login.js';
import { consumeRecoveryCode, consumeTotp } from '../accounts/second-factor.js';
import { issueSession } from '../accounts/session-issue.js';
import { accountEmail, loadUser } from '../accounts/users.js';
import { isLinked, linkIdentity, touchIdentity } from './identities.js';
import { providerById } from './providers.js';
import { OidcRefusal } from './refusal.js';
import { consumeResult, pendingResult } from './results.js';
import type { OidcServices } from './services.js';

export interface SecondFactorInput {
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}

/** A session for the signed-in user; with `reply` (the dashboard asked for session "cookie"), the refresh cookie. */
async function issue(s: OidcServices, userId: string, totp: boolean, reply: FastifyReply | undefined) {
  const user = await loadUser(s, 'id', userId);
  if (!user) throw new AppError('invalid_credentials', 'This account no longer exists');
  const r = await issueSession(s, { userId, generation: user.token_generation, totp }, reply);
  return { token: r.token, expiresAt: r.expiresAt };
}

/**
 * Trades a result (same browser) for a session; an existing account not yet linked answers linkRequired.
 * @throws AppError invalid_credentials | totp_required | rate_limited
 */
export async function exchangeResult(
  s: OidcServices,
  actor: AuditActor,
  ip: string,
  code: string,
  binding: string | undefined,
  factor: SecondFactorInput,
  reply: FastifyReply | undefined,
): Promise<{ linkRequired: true; email: string | null } | { token: string; expiresAt: string }> {
  const result = await pendingResult(s, code, binding);
  if (result.outcome === 'link_required') return { linkRequired: true as const, email: result.email };
  const user = result.user_id ? await loadUser(s, 'id', result.user_id) : undefined;
  if (!user) throw new AppError('invalid_credentials', 'This account no longer exists');
  // The identity must still be linked to that account: a result held (up to 2 minutes) across an unlink or a
  // password reset, which drops every link (the claim of a squatted account), must not sign anyone in.
  if (!(await isLinked(s, result.provider_id, result.subject, user.id)))
    throw new AppError('invalid_credentials', 'This sign-in is no longer valid; start again');
  const key = hashSecret('oidc-user', user.id);
  const release = await s.throttle.enter(key, ip);
  try {
    await s.throttle.check(key, ip);
    let totp = false;
    if (user.totp_enabled) {
      const { totp: totpCode, recoveryCode } = factor;
      if (!totpCode && !recoveryCode)
        throw new AppError('totp_required', 'Enter the code from your authenticator app');
      const ok = totpCode
        ? await consumeTotp(s, user, totpCode)
        : await consumeRecoveryCode(s, user.id, recoveryCode ?? '');
      if (!ok) {
        await s.throttle.failure(key, ip);
        await auditAccountEvent(s, user.id, actor, 'auth.login_failed', {
          reason: 'second_factor',
          method: 'oidc',
        });
        throw new AppError('invalid_credentials', 'The code is not valid');
      }
      totp = true;
    }
    await consumeResult(s, result.id);
    await s.throttle.success(key, ip);
    await touchIdentity(s, result.provider_id, result.subject);
    await auditAccountEvent(s, user.id, { ...actor, userId: user.id }, 'auth.login', {
      method: 'oidc',
      amr: totp ? ['oidc', 'otp'] : ['oidc'],
    });
    return issue(s, user.id, totp, reply);
  } finally {
    await release();
  }
}

/**
 * Links the result's identity to the existing account with its e-mail, only when the provider verified the
 * e-mail and the account's own sign-in (password, and TOTP when on; throttled and audited) succeeds.
 * @throws AppError invalid_credentials | forbidden | conflict (and what login throws)
 */
export async function linkWithPassword(
  s: OidcServices,
  actor: AuditActor,
  ip: string,
  code: string,
  binding: string | undefined,
  input: SecondFactorInput & { password: string },
) {
  const result = await pendingResult(s, code, binding);
  if (result.outcome !== 'link_required' || !result.email)
    throw new AppError('invalid_credentials', 'This sign-in has nothing to link; start again');
  if (!result.email_verified)
    throw new AppError(
      'forbidden',
      'The provider did not verify this e-mail address, so it cannot be linked',
    );
  // The account's own sign-in, with its throttle, second factor and audit: proof of control.
  const signedIn = await login(s, actor, ip, {
    email: result.email,
    password: input.password,
    totp: input.totp,
    recoveryCode: input.recoveryCode,
  });
  const user = await loadUser(s, 'email', result.email);
  if (!user) throw new AppError('invalid_credentials', 'This account no longer exists');
  await consumeResult(s, result.id);
  const row = await s.db.platform((q) => providerById(q, result.provider_id));
  if (!row) throw new AppError('invalid_credentials', 'The sign-in provider was removed');
  try {
    await linkIdentity(s, actor, row, result.subject, result.email, user.id);
  } catch (err) {
    if (err instanceof OidcRefusal) throw new AppError('conflict', err.message);
    throw err;
  }
  return signedIn;
}

/**
 * Before a signed-in user starts a link: fresh proof of control, not only a (possibly stolen) session. The
 * account's own sign-in check runs: throttle, second factor, audit of failures.
 * @throws AppError validation_failed (no password) | unauthorized | invalid_credentials | totp_required
 */
export async function proveControlForLink(
  s: OidcServices,
  actor: AuditActor,
  ip: string,
  userId: string,
  input: SecondFactorInput & { password?: string | undefined },
): Promise<void> {
  if (!input.password)
    throw new AppError('validation_failed', 'Linking a sign-in provider needs your current password', {
      details: { issues: [{ in: 'body', path: '/password', message: 'required to link' }] },
    });
  const email = await accountEmail(s, userId);
  if (!email) throw new AppError('unauthorized', 'This account no longer exists');
  await login(s, actor, ip, {
    email,
    password: input.password,
    totp: input.totp,
    recoveryCode: input.recoveryCode,
  });
}
