/**
 * The one place a dashboard session is issued (sign-up, sign-in, OIDC, password change, and whatever else signs
 * someone in). A session is a family (one sign-in, 30 days; see refresh.ts) plus a 15-minute session JWT naming
 * it. With `reply`, the caller opted in to a cookie session (`session: "cookie"`): a refresh token of the family
 * is also issued and set as the HttpOnly refresh cookie.
 */
import { signSession } from '@rampart/core/tokens';
import type { FastifyReply } from 'fastify';
import type { IdentityServices } from '../services.js';
import { ACCESS_TTL_SECONDS, createFamily, type Family, issueRefreshToken } from './refresh.js';
import { setRefreshCookie } from './refresh-cookie.js';

export interface SessionToIssue {
  userId: string;
  /** The user's current `token_generation` (a later bump ends the session). */
  generation: number;
  /** The sign-in passed a second factor (amr `['pwd','otp']`). */
  totp: boolean;
}

export interface IssuedSession {
  /** Session JWT (access token), 15 minutes. */
  token: string;
  expiresAt: string;
  /** The family (sign-in) id, also the JWT's `sid`. Never sent to clients. */
  familyId: string;
}

/** Signs a 15-minute session JWT of an existing family, with the first JWT key (its id as `kid`). */
export async function signAccessToken(
  s: Pick<IdentityServices, 'jwtKeys'>,
  family: Pick<Family, 'id' | 'userId' | 'generation' | 'totp'>,
): Promise<{ token: string; expiresAt: string }> {
  const now = Date.now();
  const token = await signSession(s.jwtKeys, {
    userId: family.userId,
    generation: family.generation,
    totp: family.totp,
    ttlSeconds: ACCESS_TTL_SECONDS,
    sessionId: family.id,
    now,
  });
  return { token, expiresAt: new Date(now + ACCESS_TTL_SECONDS * 1000).toISOString() };
}

/**
 * Starts a session: a new family and its first session JWT; with `reply`, also the refresh cookie.
 * @example const { token, expiresAt } = await issueSession(s, { userId, generation, totp: false }, reply);
 */
export async function issueSession(
  s: IdentityServices,
  input: SessionToIssue,
  reply?: FastifyReply,
): Promise<IssuedSession> {
  const family = await createFamily(s, input.userId, input.generation, input.totp);
  const access = await signAccessToken(s, family);
  if (reply) await attachRefreshCookie(s, reply, family);
  return { ...access, familyId: family.id };
}

/**
 * Gives an already issued session (by its family id) the refresh cookie: for routes whose session was issued
 * deeper down (login, sign-up) and that learn only afterwards that the client asked for a cookie session.
 */
export async function attachRefreshCookie(
  s: IdentityServices,
  reply: FastifyReply,
  family: string | Pick<Family, 'id' | 'expiresAt'>,
): Promise<void> {
  const f =
    typeof family === 'string'
      ? await s.db.platform(async (q) => {
          const { rows } = await q.query<{ id: string; expires_at: Date }>(
            'SELECT id, expires_at FROM refresh_families WHERE id = $1',
            [family],
          );
          const r = rows[0];
          return r ? { id: r.id, expiresAt: r.expires_at } : undefined;
        })
      : family;
  if (!f) return;
  const token = await issueRefreshToken(s, f.id);
  setRefreshCookie(reply, s, token, f.expiresAt);
}
