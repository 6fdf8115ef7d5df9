/**
 * E-mail verification and the account claim (issue 20 part 3, docs/SECURITY-CONTROLS.md "E-mail verification and
 * invitations"). Sign-up proves nothing about the address, so an account is unverified until a mailed link (this
 * file), a password reset (the reset mail reached the mailbox) or an accepted invitation proves it. Unverified
 * accounts keep the org they created at sign-up, alone; they cannot accept invitations, and cannot create API keys
 * or runtime tokens in an org that has other members. When the address's owner claims such an account through a
 * password reset, everything the account minted while unverified is revoked.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../db/types.js';
import { enqueueMail } from '../../mail/outbox.js';
import { type AuditActor, appendAudit } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { newId } from '../../platform/ids.js';
import type { OrgAccess } from '../principal.js';
import type { IdentityServices } from '../services.js';

export const VERIFICATION_TTL_HOURS = 24;

export const emailUnverified = (message = 'Confirm your e-mail address first (see the link we sent you)') =>
  new AppError('email_unverified', message);

/**
 * Creates a single-use verification token (only its SHA-256 is stored, bound to the address) and queues the mail
 * carrying it, in the caller's platform-context transaction.
 */
export async function queueVerificationMail(
  s: IdentityServices,
  q: Queryable,
  userId: string,
  email: string,
): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  await q.query(
    `INSERT INTO email_verifications (id, user_id, email, token_hash, expires_at)
     VALUES ($1, $2, $3, $4, now() + interval '${VERIFICATION_TTL_HOURS} hours')`,
    [newId(), userId, email, hashSecret('email-verification', token)],
  );
  await enqueueMail(q, s.ring, {
    to: email,
    userId,
    template: {
      kind: 'email_verification',
      link: `${s.publicUrl}/verify-email#token=${token}`,
      hours: VERIFICATION_TTL_HOURS,
    },
  });
}

/**
 * Consumes a verification token once and marks the account verified, if the account's address is still the one
 * the link was sent to. Every other open verification link of the account dies with it.
 * @throws AppError link_expired (unknown, used or expired link)
 */
export async function verifyEmail(
  s: IdentityServices,
  actor: AuditActor,
  token: string,
  sessionUserId: string,
): Promise<string> {
  const userId = await s.db.platform(async (q) => {
    const { rows } = await q.query<{ user_id: string }>(
      `SELECT v.user_id FROM email_verifications v JOIN users u ON u.id = v.user_id AND u.email = v.email
        WHERE v.token_hash = $1 AND v.used_at IS NULL AND v.expires_at > now() FOR UPDATE OF v`,
      [hashSecret('email-verification', token)],
    );
    const r = rows[0];
    if (!r) throw new AppError('link_expired', 'This confirmation link is invalid, used or expired');
    // The link proves the mailbox, the session proves the password: both must be the same account's. Otherwise
    // whoever signed up first with someone else's address gets verified by its owner's click (the owner claims
    // the account with a password reset instead, which the page offers).
    if (r.user_id !== sessionUserId)
      throw new AppError(
        'forbidden',
        'This link confirms another account: sign in to the account it was sent for, or reset its password if you did not create it',
      );
    await q.query('UPDATE email_verifications SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
      r.user_id,
    ]);
    await q.query('UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1', [
      r.user_id,
    ]);
    return r.user_id;
  });
  const { auditAccountEvent } = await import('./events.js');
  await auditAccountEvent(s, userId, { ...actor, userId }, 'auth.email_verified', { via: 'link' });
  return userId;
}

/** Whether the account has proved its address. */
export async function isEmailVerified(s: IdentityServices, userId: string): Promise<boolean> {
  const { rows } = await s.db.tx({ orgId: null, userId }, (q) =>
    q.query<{ verified: boolean }>(
      'SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = $1',
      [userId],
    ),
  );
  return rows[0]?.verified === true;
}

/**
 * The team decision on "cannot create API keys": scripts sign up and mint a key in their own new org without
 * mail, so an unverified account may still create credentials in an org where it is the only member. Anywhere
 * others are members, it must verify first.
 * @throws AppError email_unverified
 */
export async function requireVerifiedUnlessAlone(s: IdentityServices, access: OrgAccess): Promise<void> {
  if (await isEmailVerified(s, access.principal.userId)) return;
  const { rows } = await s.db.org(access.orgId, (q) =>
    q.query<{ others: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM memberships WHERE org_id = $1 AND user_id <> $2) AS others',
      [access.orgId, access.principal.userId],
    ),
  );
  if (rows[0]?.others !== false)
    throw emailUnverified(
      'Confirm your e-mail address before creating credentials in an org with other members',
    );
}

/**
 * The claim of an unverified account by the owner of its address (a completed password reset): every API key,
 * runtime token and open invitation the account created (all of them were created while it was unverified) is revoked in every org
 * it belongs to, and each org's audit log records it. Sessions and CLI credentials already ended with the
 * reset's generation bump. Settings the previous holder changed stay: the reset page tells the owner to review.
 */
export async function revokeUnverifiedCredentials(
  s: IdentityServices,
  actor: AuditActor,
  userId: string,
): Promise<{ revokedKeys: number; revokedRuntimes: number }> {
  const { rows: orgs } = await s.db.tx({ orgId: null, userId }, (q) =>
    q.query<{ org_id: string }>('SELECT org_id FROM memberships WHERE user_id = $1', [userId]),
  );
  let revokedKeys = 0;
  let revokedRuntimes = 0;
  for (const { org_id: orgId } of orgs) {
    const revoked = await s.db.org(orgId, async (q) => {
      const keys = await q.query<{ id: string }>(
        `UPDATE api_keys SET revoked_at = now() WHERE org_id = $1 AND created_by = $2 AND revoked_at IS NULL
         RETURNING id`,
        [orgId, userId],
      );
      const tokens = await q.query<{ id: string }>(
        `UPDATE runtime_tokens SET revoked_at = now() WHERE org_id = $1 AND created_by = $2 AND revoked_at IS NULL
         RETURNING id`,
        [orgId, userId],
      );
      // Open invitations it sent are bearer links into the org: one accepted after the claim would let the
      // squatter's accomplice in (as owner, even) behind the owner's back.
      const invitations = await q.query<{ id: string }>(
        `UPDATE org_invitations SET revoked_at = now()
          WHERE org_id = $1 AND invited_by = $2 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id`,
        [orgId, userId],
      );
      await appendAudit(q, actor, {
        orgId,
        action: 'user.claimed',
        target: `user:${userId}`,
        meta: {
          // Ids only (audit metadata refuses credential-looking key names, hence these).
          revokedKeys: keys.rows.map((r) => r.id),
          revokedRuntimes: tokens.rows.map((r) => r.id),
          revokedInvitations: invitations.rows.map((r) => r.id),
        },
      });
      return { keys: keys.rows.map((r) => r.id), tokens: tokens.rows.map((r) => r.id) };
    });
    for (const id of revoked.keys) await s.auth.forgetApiKey(id);
    for (const id of revoked.tokens) await s.auth.forgetRuntimeToken(id);
    revokedKeys += revoked.keys.length;
    revokedRuntimes += revoked.tokens.length;
  }
  return { revokedKeys, revokedRuntimes };
}
