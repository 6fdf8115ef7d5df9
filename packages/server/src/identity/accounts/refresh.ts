/**
 * Refresh-token families: how a dashboard session survives a reload without a token in web storage.
 *
 * A family is one sign-in (30 days, never extended). Every session JWT names its family in `sid` and lives
 * {@link ACCESS_TTL_SECONDS}; {@link Authenticator} refuses it once the family is revoked or expired. The
 * dashboard also holds the family's current refresh token in an HttpOnly cookie (see refresh-cookie.ts). Each
 * use rotates it; presenting a token that was already rotated is reuse and revokes the whole family (the
 * thief's copy and the victim's alike), audited as `auth.refresh_reuse`. Only SHA-256 hashes are stored.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/database.js';
import type { AuditActor } from '../../platform/audit/append.js';
import { AppError } from '../../platform/errors.js';
import { hashSecret } from '../../platform/hash.js';
import { newId } from '../../platform/ids.js';
import type { IdentityServices } from '../services.js';
import { writeAccountEvent } from './events.js';

/** How long a sign-in lasts: 30 days from the sign-in, whatever the refreshes. */
export const FAMILY_TTL_SECONDS = 30 * 24 * 3600;
/** Lifetime of every session JWT (access token): 15 minutes. */
export const ACCESS_TTL_SECONDS = 15 * 60;
/** Expired families are deleted (with their tokens) this long after they expire, when the user signs in again. */
const PURGE_AFTER = "interval '1 day'";

/** 256 random bits, url-safe; the prefix makes a leaked one recognisable to secret scanners. */
const newRefreshToken = () => `rrt_${randomBytes(32).toString('base64url')}`;
const REFRESH_TOKEN = /^rrt_[A-Za-z0-9_-]{43}$/;

export interface Family {
  id: string;
  userId: string;
  generation: number;
  totp: boolean;
  expiresAt: Date;
}

/** Starts a family (one sign-in) and drops the user's families that expired more than a day ago. */
export async function createFamily(
  s: IdentityServices,
  userId: string,
  generation: number,
  totp: boolean,
): Promise<Family> {
  const id = newId();
  const { rows } = await s.db.platform(async (q) => {
    await q.query(`DELETE FROM refresh_families WHERE user_id = $1 AND expires_at < now() - ${PURGE_AFTER}`, [
      userId,
    ]);
    return q.query<{ expires_at: Date }>(
      `INSERT INTO refresh_families (id, user_id, generation, totp, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
      [id, userId, generation, totp, FAMILY_TTL_SECONDS],
    );
  });
  const expiresAt = rows[0]?.expires_at ?? new Date(Date.now() + FAMILY_TTL_SECONDS * 1000);
  return { id, userId, generation, totp, expiresAt };
}

/**
 * Deletes sign-ins (with their refresh tokens, by cascade) that expired more than a day ago, whoever they belong
 * to. Signing in purges only the user's own, so without this a script that signs in often, and never again after,
 * would leave its rows behind; runs on the account-event sweep cadence. Expired sign-ins are refused either way.
 * @returns how many families were deleted
 */
export async function sweepRefreshFamilies(db: Database): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await db.platform(
      async (q) =>
        (
          await q.query(
            `DELETE FROM refresh_families WHERE id IN (
               SELECT id FROM refresh_families WHERE expires_at < now() - ${PURGE_AFTER} LIMIT 1000)`,
          )
        ).rowCount,
    );
    deleted += n;
    if (n < 1000) return deleted;
  }
}

/** Issues a refresh token of the family (stored as its SHA-256); the caller puts it in the cookie. */
export async function issueRefreshToken(s: IdentityServices, familyId: string): Promise<string> {
  const token = newRefreshToken();
  await s.db.platform((q) =>
    q.query('INSERT INTO refresh_tokens (token_hash, family_id) VALUES ($1, $2)', [
      hashSecret('refresh-token', token),
      familyId,
    ]),
  );
  return token;
}

export type RotateResult =
  | { ok: true; family: Family; token: string }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'reuse' };

/**
 * Rotates a refresh token: marks it used and issues its successor, in one transaction with the token row locked
 * (two requests with the same token are serialised: the second one sees it used). A used token is reuse: the
 * family is revoked and `auth.refresh_reuse` is written to the user's account events in the same transaction.
 */
export async function rotateRefreshToken(
  s: IdentityServices,
  actor: AuditActor,
  presented: string,
): Promise<RotateResult> {
  if (!REFRESH_TOKEN.test(presented)) return { ok: false, reason: 'unknown' };
  const hash = hashSecret('refresh-token', presented);
  return s.db.platform(async (q): Promise<RotateResult> => {
    const { rows } = await q.query<{
      family_id: string;
      used_at: Date | null;
      user_id: string;
      generation: number;
      totp: boolean;
      expires_at: Date;
      revoked_at: Date | null;
      token_generation: number;
      expired: boolean;
    }>(
      `SELECT t.family_id, t.used_at, f.user_id, f.generation, f.totp, f.expires_at, f.revoked_at,
              u.token_generation, f.expires_at <= now() AS expired
         FROM refresh_tokens t
         JOIN refresh_families f ON f.id = t.family_id
         JOIN users u ON u.id = f.user_id
        WHERE t.token_hash = $1
          FOR UPDATE OF t, f`,
      [hash],
    );
    const r = rows[0];
    if (!r) return { ok: false, reason: 'unknown' };
    if (r.revoked_at) return { ok: false, reason: 'revoked' };
    if (r.expired) return { ok: false, reason: 'expired' };
    if (r.generation !== r.token_generation) return { ok: false, reason: 'revoked' };
    if (r.used_at) {
      await q.query(
        `UPDATE refresh_families SET revoked_at = now(), revoked_reason = 'reuse' WHERE id = $1 AND revoked_at IS NULL`,
        [r.family_id],
      );
      await writeAccountEvent(
        q,
        r.user_id,
        { ...actor, userId: r.user_id },
        'auth.refresh_reuse',
        `user:${r.user_id}`,
        { family: r.family_id },
      );
      return { ok: false, reason: 'reuse' };
    }
    await q.query('UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1', [hash]);
    const next = newRefreshToken();
    await q.query('INSERT INTO refresh_tokens (token_hash, family_id) VALUES ($1, $2)', [
      hashSecret('refresh-token', next),
      r.family_id,
    ]);
    return {
      ok: true,
      token: next,
      family: {
        id: r.family_id,
        userId: r.user_id,
        generation: r.generation,
        totp: r.totp,
        expiresAt: r.expires_at,
      },
    };
  });
}

/** Revokes one family (sign-out); idempotent. Returns its user when the family exists. */
export async function revokeFamily(s: IdentityServices, familyId: string): Promise<string | null> {
  const { rows } = await s.db.platform((q) =>
    q.query<{ user_id: string }>(
      `UPDATE refresh_families SET revoked_at = coalesce(revoked_at, now()),
              revoked_reason = coalesce(revoked_reason, 'logout')
        WHERE id = $1 RETURNING user_id`,
      [familyId],
    ),
  );
  return rows[0]?.user_id ?? null;
}

/** The family a refresh token (used or not) belongs to, for signing out with the cookie. */
export async function familyOfRefreshToken(s: IdentityServices, presented: string): Promise<string | null> {
  if (!REFRESH_TOKEN.test(presented)) return null;
  const { rows } = await s.db.platform((q) =>
    q.query<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [
      hashSecret('refresh-token', presented),
    ]),
  );
  return rows[0]?.family_id ?? null;
}

export const sessionGone = () => new AppError('unauthorized', 'Session is no longer valid; sign in again');
