import { errors, type JWTHeaderParameters, jwtVerify } from 'jose';
import { TokenError } from './errors.js';
import { LEGACY_KEY_ID, SESSION_KEY_ID_PATTERN, SessionKeyRing, type SessionKeys } from './keyring.js';
import { checkSecret, epochSeconds } from './lib/checks.js';
import {
  MAX_TOKEN_CHARS,
  SESSION_ALG,
  SESSION_AUDIENCE,
  SESSION_ISSUER,
  SESSION_TYP,
  type SessionAmr,
} from './session.js';

/** What a verified session says. The caller still re-reads the user, membership and role (invariant 6). */
export interface SessionClaims {
  userId: string;
  /** Compare with the user's stored generation; refuse the session if it differs. */
  generation: number;
  amr: SessionAmr;
  /** Expiry, seconds since the epoch. */
  exp: number;
  jti: string;
  /** The sign-in (refresh-token family) the session belongs to, when it names one (`sid`). */
  sessionId?: string;
}

/** Options for {@link verifySession}. */
export interface VerifySessionOptions {
  /** The current time in milliseconds since the epoch (default `Date.now()`); for tests. */
  now?: number;
}

/**
 * Verifies a session token from {@link signSession}. The algorithm is pinned to HS256 (`alg: none`, HS384/512
 * and asymmetric algorithms are refused before any key is used), header `typ` must be `JWT`, issuer and audience
 * must match, and `exp`, `iat`, `jti`, `sub`, `gen`, `amr` and `typ` must be present with the right shapes.
 * Authenticity is checked before the claims, so `expired` and `wrong_type` are only ever reported for tokens we
 * signed.
 *
 * The key is chosen by the protected header's `kid`: the ring's key with that id, and for a token without `kid`
 * (signed before keys had ids) the key with id {@link LEGACY_KEY_ID} only. An unknown or malformed `kid` is
 * `invalid` (reason `kid`) without any key being tried; no other key is ever tried as a fallback. A bare secret
 * verifies like a ring holding it under {@link LEGACY_KEY_ID}.
 *
 * @throws {TokenError} `invalid`, `expired` or `wrong_type` (see {@link TokenErrorCode}).
 * @throws {TypeError} if `keys` is neither a ring nor a Uint8Array; {RangeError} if a bare secret is shorter
 *   than 32 bytes.
 * @example
 * const session = await verifySession(jwtKeys, req.cookies.rampart_session);
 * if (session.generation !== user.sessionGen) throw unauthorized();
 */
export async function verifySession(
  keys: SessionKeys,
  token: string,
  options: VerifySessionOptions = {},
): Promise<SessionClaims> {
  const ring = keys instanceof SessionKeyRing ? keys : SessionKeyRing.single(checkSecret(keys));
  const now = epochSeconds(options.now);
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) {
    throw new TokenError('invalid', 'session token is malformed', { reason: 'shape' });
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => keyFor(ring, header), {
      algorithms: [SESSION_ALG],
      issuer: SESSION_ISSUER,
      audience: SESSION_AUDIENCE,
      typ: 'JWT',
      requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      currentDate: new Date(now * 1000),
    }));
  } catch (err) {
    throw fromJose(err);
  }
  if (payload.typ !== SESSION_TYP) {
    throw new TokenError('wrong_type', 'token is not a session token', { reason: 'typ', claim: 'typ' });
  }
  const { sub, gen, amr, exp, jti, sid } = payload;
  if (typeof sub !== 'string' || sub === '') throw badClaim('sub');
  if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 0) throw badClaim('gen');
  if (!isAmr(amr)) throw badClaim('amr');
  if (typeof jti !== 'string' || jti === '') throw badClaim('jti');
  if (typeof exp !== 'number') throw badClaim('exp');
  if (sid !== undefined && (typeof sid !== 'string' || sid === '' || sid.length > 64)) throw badClaim('sid');
  return { userId: sub, generation: gen, amr, exp, jti, ...(sid === undefined ? {} : { sessionId: sid }) };
}

/** The ring's key named by the header's `kid` (no `kid`: the legacy key). Called by jose after the `alg` check. */
function keyFor(ring: SessionKeyRing, header: JWTHeaderParameters): Uint8Array {
  const { kid } = header;
  const id = kid === undefined ? LEGACY_KEY_ID : kid;
  const key = typeof id === 'string' && SESSION_KEY_ID_PATTERN.test(id) ? ring.keyFor(id) : undefined;
  // Fixed text: the kid is the sender's choice and is not echoed.
  if (key === undefined)
    throw new TokenError('invalid', 'session token names no known signing key', { reason: 'kid' });
  return key;
}

function isAmr(value: unknown): value is SessionAmr {
  return (
    Array.isArray(value) &&
    value[0] === 'pwd' &&
    (value.length === 1 || (value.length === 2 && value[1] === 'otp'))
  );
}

function badClaim(claim: string): TokenError {
  return new TokenError('invalid', `session token has an invalid "${claim}" claim`, {
    reason: 'claim',
    claim,
  });
}

/** Maps a jose error to a TokenError, keeping only its code and claim name (its `payload` holds the claims). */
function fromJose(err: unknown): unknown {
  if (err instanceof TokenError) return err;
  if (err instanceof errors.JWTExpired) {
    return new TokenError('expired', 'session token has expired', { reason: err.code, claim: 'exp' });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new TokenError('invalid', `session token has an invalid "${err.claim}" claim`, {
      reason: err.code,
      claim: err.claim,
    });
  }
  if (err instanceof errors.JOSEError) {
    return new TokenError('invalid', 'session token is invalid', { reason: err.code });
  }
  return err;
}
