import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { SessionKeyRing, type SessionKeys } from './keyring.js';
import { checkSecret, epochSeconds } from './lib/checks.js';
import {
  SESSION_ALG,
  SESSION_AUDIENCE,
  SESSION_ISSUER,
  SESSION_TTL_SECONDS,
  SESSION_TYP,
  type SessionAmr,
} from './session.js';

/** Input of {@link signSession}. */
export interface SessionInput {
  /** The user's id, written as `sub`. */
  userId: string;
  /**
   * The user's session generation, written as `gen`. Bumping it (password change, "sign out everywhere", TOTP
   * reset) makes every older session fail the server's comparison with the stored value.
   */
  generation: number;
  /** Whether the login passed a second factor; gives `amr: ['pwd', 'otp']` instead of `['pwd']`. */
  totp: boolean;
  /** Lifetime; defaults to 30 days. */
  ttlSeconds?: number;
  /**
   * The sign-in (refresh-token family) this session belongs to, written as `sid` (OpenID Connect's session id
   * claim). The server refuses the token once that sign-in is revoked. Optional: sessions without one only carry
   * the generation and jti checks.
   */
  sessionId?: string;
  /** Issue time in milliseconds since the epoch (default `Date.now()`); for tests. */
  now?: number;
}

/**
 * Signs a dashboard session: a compact JWS, HS256, header `{ alg: 'HS256', typ: 'JWT', kid }` (with a
 * {@link SessionKeyRing}: signed by its primary key, `kid` its id; with a bare secret: no `kid`), claims `iss`
 * `rampart`, `aud` `rampart:dashboard`, `sub`, `gen`, `amr`, `typ: 'session'`, `iat`, `exp` and a random
 * 128-bit `jti` (so a session can be named in the audit log and revoked individually); `sid` when
 * {@link SessionInput.sessionId} is given.
 *
 * @throws {TypeError} if `keys` is neither a ring nor a Uint8Array, or `userId` is empty; {RangeError} if a bare
 *   secret is under 32 bytes, `generation` is not a non-negative integer or `ttlSeconds` is not a positive integer.
 * @example const token = await signSession(jwtKeys, { userId, generation: user.sessionGen, totp: true });
 */
export async function signSession(keys: SessionKeys, input: SessionInput): Promise<string> {
  let secret: Uint8Array;
  let kid: string | undefined;
  if (keys instanceof SessionKeyRing) {
    kid = keys.primaryId;
    secret = keys.keyFor(kid) as Buffer;
  } else secret = checkSecret(keys);
  const { userId, generation, totp, ttlSeconds = SESSION_TTL_SECONDS } = input;
  if (typeof userId !== 'string' || userId === '')
    throw new TypeError('signSession: userId must be non-empty');
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new RangeError('signSession: generation must be a non-negative integer');
  }
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError('signSession: ttlSeconds must be a positive integer');
  }
  if (typeof totp !== 'boolean') throw new TypeError('signSession: totp must be a boolean');
  const { sessionId } = input;
  if (sessionId !== undefined && (typeof sessionId !== 'string' || sessionId === '' || sessionId.length > 64))
    throw new TypeError('signSession: sessionId must be a non-empty string of at most 64 characters');
  const iat = epochSeconds(input.now);
  const amr: SessionAmr = totp ? ['pwd', 'otp'] : ['pwd'];
  return new SignJWT({ typ: SESSION_TYP, gen: generation, amr, ...(sessionId ? { sid: sessionId } : {}) })
    .setProtectedHeader({ alg: SESSION_ALG, typ: 'JWT', ...(kid === undefined ? {} : { kid }) })
    .setIssuer(SESSION_ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(secret);
}
