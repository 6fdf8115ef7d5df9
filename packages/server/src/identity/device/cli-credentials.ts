/** The CLI credentials (`cli_live_...`) a device sign-in minted: listed and revoked by their user. */
import type { Queryable } from '../../db/types.js';
import type { IdentityServices } from '../services.js';

export interface CliCredentialView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string;
}

/** The user's live CLI credentials, newest first (never the token). */
export async function listCliCredentials(s: IdentityServices, userId: string): Promise<CliCredentialView[]> {
  const { rows } = await s.db.platform((q) =>
    q.query<{
      id: string;
      name: string;
      prefix: string;
      created_at: Date;
      last_used_at: Date | null;
      expires_at: Date;
    }>(
      `SELECT id, name, prefix, created_at, last_used_at, expires_at FROM cli_credentials
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC, id`,
      [userId],
    ),
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    expiresAt: r.expires_at.toISOString(),
  }));
}

/**
 * {@link revokeCliCredential} in the caller's transaction (cli_credentials is a platform table: any context);
 * the caller announces it (`s.auth.forgetCliCredential`) once that commits.
 */
export async function revokeCliCredentialIn(
  q: Queryable,
  userId: string,
  id: string,
): Promise<{ prefix: string; name: string } | undefined> {
  const { rows } = await q.query<{ prefix: string; name: string }>(
    `UPDATE cli_credentials SET revoked_at = now()
      WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING prefix, name`,
    [id, userId],
  );
  return rows[0];
}

/** Revokes one of `userId`'s credentials; `undefined` when it is not theirs, unknown or already revoked. */
export async function revokeCliCredential(
  s: IdentityServices,
  userId: string,
  id: string,
): Promise<{ prefix: string; name: string } | undefined> {
  const r = await s.db.platform((q) => revokeCliCredentialIn(q, userId, id));
  await s.auth.forgetCliCredential(id);
  return r;
}

/** The e-mail address of a CLI credential's user, read in that user's context. */
export async function cliUserEmail(s: IdentityServices, userId: string): Promise<string | undefined> {
  const { rows } = await s.db.tx({ orgId: null, userId }, (q) =>
    q.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [userId]),
  );
  return rows[0]?.email;
}
