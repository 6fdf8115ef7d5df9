import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { SessionKeyRing } from '@rampart/core/tokens';

/**
 * Visitor sessions and IP hashing, each under its own key derived with HKDF-SHA256 from the server's JWT keys
 * (distinct `info` labels, so neither key can stand in for the other or for session JWTs).
 *
 * A visitor token is `wv1.<payload>.<mac>`: base64url JSON `{w: widgetId, v: visitorId, exp}` and the
 * base64url HMAC-SHA256 of `wv1.<payload>`. It is signed under the key derived from the first JWT key, and
 * verified under the key derived from each JWT key in turn, so a token survives a key roll for as long as the
 * key that signed it stays in RAMPART_JWT_SECRETS. Every candidate MAC is computed and compared in constant time
 * (no early exit: the time depends on the number of keys, never on which one matched), then the widget and
 * the expiry are checked.
 *
 * The IP hash key is derived from the first JWT key only (a hash must be one value to be a rate-limit key): when
 * a new key moves first, IPs hash to new values from then on (docs/OPERATIONS.md, "JWT secret").
 */
export const VISITOR_TTL_SECONDS = 60 * 60;
const PREFIX = 'wv1';
const MAX_TOKEN = 512;

export interface VisitorKeys {
  /** Signs new visitor tokens (from the first JWT key). */
  token: Buffer;
  /** Verify visitor tokens: one per JWT key, the signing key first. */
  verify: readonly Buffer[];
  ip: Buffer;
}

const TOKEN_INFO = 'rampart widget visitor token v1';
const IP_INFO = 'rampart visitor ip hash v1';
const derive = (secret: Uint8Array, info: string) =>
  Buffer.from(hkdfSync('sha256', secret, 'rampart', info, 32));

/** The visitor keys of the server's JWT keys (a bare secret: a ring of that one key). */
export function visitorKeys(jwtKeys: SessionKeyRing | Uint8Array): VisitorKeys {
  const ring = jwtKeys instanceof SessionKeyRing ? jwtKeys : SessionKeyRing.single(jwtKeys);
  const secrets = ring.ids.map((id) => ring.keyFor(id) as Buffer);
  const verify = secrets.map((k) => derive(k, TOKEN_INFO));
  return { token: verify[0] as Buffer, verify, ip: derive(secrets[0] as Buffer, IP_INFO) };
}

/** HMAC-SHA256 of the client IP, hex: the only form in which a visitor IP is stored or used as a key. */
export const hashIp = (keys: VisitorKeys, ip: string): string =>
  createHmac('sha256', keys.ip).update(ip).digest('hex');

const mac = (key: Buffer, signed: string) => createHmac('sha256', key).update(signed).digest();

export function signVisitor(
  keys: VisitorKeys,
  widgetId: string,
  visitorId: string,
  now: Date,
): { token: string; expiresAt: Date } {
  const exp = Math.floor(now.getTime() / 1000) + VISITOR_TTL_SECONDS;
  const payload = Buffer.from(JSON.stringify({ w: widgetId, v: visitorId, exp })).toString('base64url');
  const signed = `${PREFIX}.${payload}`;
  return {
    token: `${signed}.${mac(keys.token, signed).toString('base64url')}`,
    expiresAt: new Date(exp * 1000),
  };
}

export type VisitorCheck =
  | { ok: true; visitorId: string }
  | { ok: false; reason: 'malformed' | 'signature' | 'widget' | 'expired' };

/**
 * Checks a visitor token for this widget. `graceSeconds` accepts a token that expired at most that long ago: the
 * visitor deleting their own conversation may hold an expired session's token, its only key to that conversation.
 */
export function verifyVisitor(
  keys: VisitorKeys,
  token: string,
  widgetId: string,
  now: Date,
  graceSeconds = 0,
): VisitorCheck {
  if (token.length > MAX_TOKEN) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
  const [, payload = '', sig = ''] = parts;
  const given = Buffer.from(sig, 'base64url');
  let valid = false;
  for (const key of keys.verify) {
    const want = mac(key, `${PREFIX}.${payload}`);
    // Non-short-circuiting: every key is tried whichever matched.
    valid = (given.length === want.length && timingSafeEqual(given, want)) || valid;
  }
  if (!valid) return { ok: false, reason: 'signature' };
  let claims: { w?: unknown; v?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.w !== widgetId) return { ok: false, reason: 'widget' };
  if (typeof claims.exp !== 'number' || (claims.exp + graceSeconds) * 1000 <= now.getTime())
    return { ok: false, reason: 'expired' };
  if (typeof claims.v !== 'string') return { ok: false, reason: 'malformed' };
  return { ok: true, visitorId: claims.v };
}
