import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Visitor sessions and IP hashing, each under its own key derived with HKDF-SHA256 from the server's JWT
 * secret (distinct `info` labels, so neither key can stand in for the other or for session JWTs).
 *
 * A visitor token is `wv1.<payload>.<mac>`: base64url JSON `{w: widgetId, v: visitorId, exp}` and the
 * base64url HMAC-SHA256 of `wv1.<payload>`. Verification recomputes the MAC, compares in constant time, then
 * checks the widget and the expiry.
 */
export const VISITOR_TTL_SECONDS = 60 * 60;
const PREFIX = 'wv1';
const MAX_TOKEN = 512;

export interface VisitorKeys {
  token: Buffer;
  ip: Buffer;
}

export function visitorKeys(jwtSecret: Uint8Array): VisitorKeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', jwtSecret, 'rampart', info, 32));
  return { token: derive('rampart widget visitor token v1'), ip: derive('rampart visitor ip hash v1') };
}

/** HMAC-SHA256 of the client IP, hex: the only form in which a visitor IP is stored or used as a key. */
export const hashIp = (keys: VisitorKeys, ip: string): string =>
  createHmac('sha256', keys.ip).update(ip).digest('hex');

const mac = (keys: VisitorKeys, signed: string) => createHmac('sha256', keys.token).update(signed).digest();

export function signVisitor(
  keys: VisitorKeys,
  widgetId: string,
  visitorId: string,
  now: Date,
): { token: string; expiresAt: Date } {
  const exp = Math.floor(now.getTime() / 1000) + VISITOR_TTL_SECONDS;
  const payload = Buffer.from(JSON.stringify({ w: widgetId, v: visitorId, exp })).toString('base64url');
  const signed = `${PREFIX}.${payload}`;
  return { token: `${signed}.${mac(keys, signed).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
}

export type VisitorCheck =
  | { ok: true; visitorId: string }
  | { ok: false; reason: 'malformed' | 'signature' | 'widget' | 'expired' };

export function verifyVisitor(keys: VisitorKeys, token: string, widgetId: string, now: Date): VisitorCheck {
  if (token.length > MAX_TOKEN) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
  const [, payload = '', sig = ''] = parts;
  const given = Buffer.from(sig, 'base64url');
  const want = mac(keys, `${PREFIX}.${payload}`);
  if (given.length !== want.length || !timingSafeEqual(given, want))
    return { ok: false, reason: 'signature' };
  let claims: { w?: unknown; v?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.w !== widgetId) return { ok: false, reason: 'widget' };
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime())
    return { ok: false, reason: 'expired' };
  if (typeof claims.v !== 'string') return { ok: false, reason: 'malformed' };
  return { ok: true, visitorId: claims.v };
}
