/** Provider identities linked to an account: link (with its security notice), list, unlink. */
import { enqueueMail } from '../../mail/outbox.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { ProviderRow } from './providers.js';
import { OidcRefusal } from './refusal.js';
import type { OidcServices } from './services.js';

export async function linkIdentity(
  s: OidcServices,
  actor: AuditActor,
  provider: ProviderRow,
  subject: string,
  email: string | null,
  userId: string,
): Promise<void> {
  const inserted = await s.db.platform(async (q) => {
    const ins = await q.query(
      `INSERT INTO oidc_identities (id, provider_id, subject, user_id, email) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider_id, subject) DO NOTHING`,
      [newId(), provider.id, subject, userId, email],
    );
    // Security notice to the account's own address, committed with the link.
    const owner = await q.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [userId]);
    const to = owner.rows[0]?.email;
    if (ins.rowCount === 1 && to)
      await enqueueMail(q, s.ring, {
        to,
        userId,
        template: {
          kind: 'security_notice',
          event: 'provider_linked',
          at: new Date().toISOString(),
          detail: provider.display_name,
        },
      });
    return ins;
  });
  if (inserted.rowCount === 0)
    throw new OidcRefusal('already_linked', 'This identity is already linked to another account');
  const { auditAccountEvent } = await import('../accounts/events.js');
  await auditAccountEvent(s, userId, { ...actor, userId }, 'auth.oidc_linked', { provider: provider.name });
}

/** Whether the identity is (still) linked to that user: a result held across an unlink must not sign in. */
export async function isLinked(
  s: OidcServices,
  providerId: string,
  subject: string,
  userId: string,
): Promise<boolean> {
  const linked = await s.db.platform((q) =>
    q.query('SELECT 1 FROM oidc_identities WHERE provider_id = $1 AND subject = $2 AND user_id = $3', [
      providerId,
      subject,
      userId,
    ]),
  );
  return linked.rowCount !== 0;
}

/** Records a sign-in through the identity. */
export async function touchIdentity(s: OidcServices, providerId: string, subject: string): Promise<void> {
  await s.db.platform((q) =>
    q.query('UPDATE oidc_identities SET last_login_at = now() WHERE provider_id = $1 AND subject = $2', [
      providerId,
      subject,
    ]),
  );
}

/** The identities linked to the user, oldest first. */
export async function listIdentities(s: OidcServices, userId: string) {
  const { rows } = await s.db.platform((q) =>
    q.query<{
      id: string;
      name: string;
      display_name: string;
      email: string | null;
      created_at: Date;
      last_login_at: Date | null;
    }>(
      `SELECT i.id, p.name, p.display_name, i.email, i.created_at, i.last_login_at
         FROM oidc_identities i JOIN oidc_providers p ON p.id = i.provider_id
        WHERE i.user_id = $1 ORDER BY i.created_at`,
      [userId],
    ),
  );
  return rows.map((r) => ({
    id: r.id,
    provider: r.name,
    displayName: r.display_name,
    email: r.email,
    createdAt: r.created_at.toISOString(),
    lastLoginAt: r.last_login_at?.toISOString() ?? null,
  }));
}

/**
 * Unlinks one of the user's identities and queues the security notice to `email` in the same transaction.
 * @throws AppError not_found when the user has no such identity
 */
export async function unlinkIdentity(
  s: OidcServices,
  userId: string,
  email: string,
  id: string,
): Promise<{ name: string; display_name: string }> {
  return s.db.platform(async (q) => {
    const del = await q.query<{ name: string; display_name: string }>(
      `DELETE FROM oidc_identities i USING oidc_providers p
        WHERE i.id = $1 AND i.user_id = $2 AND p.id = i.provider_id RETURNING p.name, p.display_name`,
      [id, userId],
    );
    const row = del.rows[0];
    if (!row) throw new AppError('not_found', 'No such linked sign-in');
    await enqueueMail(q, s.ring, {
      to: email,
      userId,
      template: {
        kind: 'security_notice',
        event: 'provider_unlinked',
        at: new Date().toISOString(),
        detail: row.display_name,
      },
    });
    return row;
  });
}
