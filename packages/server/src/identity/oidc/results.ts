/** The one-time result of a provider's callback, redeemed by the same browser for a session (or a link). */
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import type { OidcServices } from './services.js';

/** The cookie that binds a sign-in in flight to the browser that started it. */
export const BINDING_COOKIE = 'rampart_oidc';

export const sameHash = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export interface ResultRow {
  id: string;
  binding_hash: string;
  outcome: 'session' | 'link_required';
  user_id: string | null;
  provider_id: string;
  subject: string;
  email: string | null;
  email_verified: boolean;
}

/** Reads (without consuming) an unexpired, unconsumed result, checking it belongs to this browser. */
export async function pendingResult(
  s: OidcServices,
  code: string,
  binding: string | undefined,
): Promise<ResultRow> {
  const { rows } = await s.db.platform((q) =>
    q.query<ResultRow>(
      `SELECT id, binding_hash, outcome, user_id, provider_id, subject, email, email_verified FROM oidc_login_results
        WHERE code_hash = $1 AND consumed_at IS NULL AND expires_at > now()`,
      [hashSecret('oidc-result', code)],
    ),
  );
  const r = rows[0];
  if (!r || !binding || !sameHash(hashSecret('oidc-binding', binding), r.binding_hash))
    throw new AppError(
      'invalid_credentials',
      'This sign-in is unknown, expired or already used; start again',
    );
  return r;
}

/** Consumes a result exactly once. @throws AppError invalid_credentials when someone else consumed it first */
export async function consumeResult(s: OidcServices, id: string): Promise<void> {
  const upd = await s.db.platform((q) =>
    q.query('UPDATE oidc_login_results SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL', [id]),
  );
  if (upd.rowCount === 0)
    throw new AppError('invalid_credentials', 'This sign-in was already used; start again');
}
