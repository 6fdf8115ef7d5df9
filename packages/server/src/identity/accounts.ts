import { randomBytes } from 'node:crypto';
import {
  checkPasswordPolicy,
  dummyVerify,
  hashPassword,
  PasswordError,
  verifyPassword,
} from '@rampart/core/passwords';
import { openString, seal } from '@rampart/core/seal';
import {
  generateRecoveryCodes,
  generateTotpSecret,
  normalizeRecoveryCode,
  totpUri,
  verifyTotp,
} from '@rampart/core/totp';
import type { Queryable } from '../db/types.js';
import { enqueueMail } from '../mail/outbox.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { hashSecret } from '../platform/hash.js';
import { newId } from '../platform/ids.js';
import { insertOrgWithOwner } from '../tenancy/orgs.js';
import { recordAccountEvent, writeAccountEvent } from './account-events.js';
import type { IdentityServices } from './services.js';
import { issueSession } from './session-issue.js';
import { queueVerificationMail, revokeUnverifiedCredentials } from './verification.js';

export const RESET_TTL_MINUTES = 30;
/** Recovery codes carry ≥ 60 random bits, so they need less stretching than passwords; up to 10 are compared. */
const RECOVERY_CODE_COST = 10;

const invalidCredentials = () => new AppError('invalid_credentials', 'Invalid email or password');

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

const POLICY_MESSAGES = {
  too_short: 'Password must be at least 10 characters',
  too_long: 'Password must be at most 72 bytes (it would otherwise be truncated)',
  common: 'Password is too common; choose another',
  contains_email: 'Password must not contain your email address',
} as const;

/** @throws AppError validation_failed naming the rule (never echoing the password) */
export function enforcePasswordPolicy(password: string, email: string): void {
  const r = checkPasswordPolicy(password, { email });
  if (!r.ok) {
    throw new AppError('validation_failed', POLICY_MESSAGES[r.reason], {
      details: { issues: [{ in: 'body', path: '/password', message: POLICY_MESSAGES[r.reason] }] },
    });
  }
}

/**
 * Records an account event in the user's own stream and the platform chain (see account-events.ts). Never in
 * an org's audit log: the orgs a person belongs to do not see their sign-ins.
 */
export async function auditAccountEvent(
  s: IdentityServices,
  userId: string | null,
  actor: AuditActor,
  action: string,
  meta: Record<string, unknown> = {},
): Promise<void> {
  await recordAccountEvent(s.db, userId, actor, action, userId ? `user:${userId}` : null, meta);
}

export interface SignupInput {
  email: string;
  password: string;
  orgName: string;
}

/** Creates the user, their first org and the owner membership in one transaction, then signs them in. */
export async function signup(s: IdentityServices, actor: AuditActor, input: SignupInput) {
  const email = normalizeEmail(input.email);
  enforcePasswordPolicy(input.password, email);
  const passwordHash = await hashPassword(input.password, { cost: s.bcryptCost });
  const userId = newId();
  const orgId = newId();
  await s.db.tx({ orgId, userId }, async (q) => {
    const inserted = await q.query(
      'INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING',
      [userId, email, passwordHash],
    );
    if (inserted.rowCount === 0)
      throw new AppError(
        'conflict',
        'An account with this email already exists; sign in or reset the password',
      );
    await insertOrgWithOwner(q, orgId, userId, input.orgName);
    const a = { ...actor, userId };
    await appendAudit(q, a, { orgId, action: 'user.signed_up', target: `user:${userId}` });
    await appendAudit(q, a, { orgId, action: 'org.created', target: `org:${orgId}` });
  });
  // The account is unverified until the mailed link (or a reset, or an invitation) proves the address.
  await s.db.platform(async (q) => {
    await writeAccountEvent(q, userId, { ...actor, userId }, 'user.signed_up', `user:${userId}`);
    await queueVerificationMail(s, q, userId, email);
  });
  const { token, familyId } = await issueSession(s, { userId, generation: 0, totp: false });
  return { userId, orgId, token, familyId };
}

export interface LoginInput {
  email: string;
  password: string;
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}

export interface UserRow {
  id: string;
  password_hash: string | null;
  totp_secret_sealed: string | null;
  totp_enabled: boolean;
  totp_last_step: string | null;
  token_generation: number;
  is_operator: boolean;
}

const USER_COLUMNS =
  'id, password_hash, totp_secret_sealed, totp_enabled, totp_last_step::text, token_generation, is_operator';

/** The login-relevant columns of one user, by id or (normalised) email. */
export async function loadUser(
  s: IdentityServices,
  by: 'id' | 'email',
  value: string,
): Promise<UserRow | undefined> {
  const { rows } = await s.db.platform((q) =>
    q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE ${by === 'id' ? 'id' : 'email'} = $1`, [value]),
  );
  return rows[0];
}

/** The account's e-mail address; `undefined` when the user no longer exists. */
export async function accountEmail(s: IdentityServices, userId: string): Promise<string | undefined> {
  const { rows } = await s.db.platform((q) =>
    q.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [userId]),
  );
  return rows[0]?.email;
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

/** Verifies a TOTP code and records its step atomically, so the same code (or an older one) is accepted once. */
export async function consumeTotp(s: IdentityServices, user: UserRow, code: string): Promise<boolean> {
  if (!user.totp_secret_sealed) return false;
  const secret = openString(s.ring, user.totp_secret_sealed, {
    orgId: null,
    table: 'users',
    column: 'totp_secret_sealed',
    rowId: user.id,
  });
  const lastUsedStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
  const r = verifyTotp(secret, code, { lastUsedStep });
  if (!r.ok) return false;
  const upd = await s.db.platform((q) =>
    q.query(
      'UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)',
      [user.id, r.step],
    ),
  );
  return upd.rowCount === 1;
}

/** Compares against the unused codes; the winning code is marked used with a guarded UPDATE (one use, ever). */
export async function consumeRecoveryCode(
  s: IdentityServices,
  userId: string,
  input: string,
): Promise<boolean> {
  const code = normalizeRecoveryCode(input);
  if (!code) return false;
  const { rows } = await s.db.platform((q) =>
    q.query<{ id: string; code_hash: string }>(
      'SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
      [userId],
    ),
  );
  for (const r of rows) {
    if (await verifyPassword(code, r.code_hash)) {
      const upd = await s.db.platform((q) =>
        q.query('UPDATE recovery_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL', [r.id]),
      );
      return upd.rowCount === 1;
    }
  }
  return false;
}

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
 * Revokes every CLI credential of the user (they are bearer tokens like sessions: "sign out everywhere" and a
 * password change or reset must end them too) and drops them from this node's cache. A CLI sign-in approved but
 * not yet collected is denied first (its poll would mint a credential afterwards; the poll's row lock orders it).
 */
export async function revokeCliCredentials(s: IdentityServices, q: Queryable, userId: string): Promise<void> {
  await q.query(
    `UPDATE device_authorizations SET status = 'denied' WHERE user_id = $1 AND status = 'approved'`,
    [userId],
  );
  const { rows } = await q.query<{ id: string }>(
    'UPDATE cli_credentials SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id',
    [userId],
  );
  for (const r of rows) s.auth.forgetCliCredential(r.id);
}

/** Voids a pending e-mail change: recovering or re-securing the account must not leave an intruder's link live. */
export async function voidPendingEmailChanges(q: Queryable, userId: string): Promise<void> {
  await q.query('UPDATE email_changes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [userId]);
}

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

/** Revokes one session (its jti) until it would have expired. */
export async function logout(
  s: IdentityServices,
  actor: AuditActor,
  userId: string,
  jti: string,
  exp: number,
): Promise<void> {
  await s.db.platform((q) =>
    q.query(
      'INSERT INTO revoked_sessions (jti, user_id, expires_at) VALUES ($1, $2, to_timestamp($3)) ON CONFLICT DO NOTHING',
      [jti, userId, exp],
    ),
  );
  await auditAccountEvent(s, userId, actor, 'auth.logout');
}

/** Invalidates every session of the user at once by bumping their token generation. */
export async function logoutEverywhere(
  s: IdentityServices,
  actor: AuditActor,
  userId: string,
): Promise<void> {
  await s.db.platform(async (q) => {
    await q.query('UPDATE users SET token_generation = token_generation + 1 WHERE id = $1', [userId]);
    await revokeCliCredentials(s, q, userId);
    await voidPendingEmailChanges(q, userId);
  });
  await auditAccountEvent(s, userId, actor, 'auth.logout_everywhere');
}

/**
 * Re-checks a signed-in user's current password before a sensitive change (password change, TOTP enrolment). A
 * stolen session must not become an oracle for the password, so this runs under the login throttle exactly as
 * login does: the in-flight slot first (parallel guesses are serialised, not all evaluated), then the back-off,
 * and every failure is charged. With `factor` it is the re-authentication of every account action (docs/SECURITY.md
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

/** The second factor of a re-authentication: a TOTP code or an unused recovery code. */
export interface SecondFactor {
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}

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
