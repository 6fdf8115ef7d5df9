/** Ending sessions: one (logout), all of a user's (everywhere), and their CLI credentials with them. */
import type { Queryable } from '../../db/types.js';
import type { AuditActor } from '../../platform/audit/append.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';

/**
 * Revokes every CLI credential of the user (they are bearer tokens like sessions: "sign out everywhere" and a
 * password change or reset must end them too) and, once that commits, drops them from every node's cache. A CLI sign-in approved but
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
  // After the commit: a node that dropped its entry earlier could re-read the row before the revocation is
  // visible and cache it again for the TTL.
  const forget = () => Promise.all(rows.map((r) => s.auth.forgetCliCredential(r.id)));
  if (q.afterCommit) q.afterCommit(forget);
  else await forget();
}

/** Voids a pending e-mail change: recovering or re-securing the account must not leave an intruder's link live. */
export async function voidPendingEmailChanges(q: Queryable, userId: string): Promise<void> {
  await q.query('UPDATE email_changes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [userId]);
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
