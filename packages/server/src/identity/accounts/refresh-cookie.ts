/**
 * The dashboard's refresh cookie and the Origin check of the endpoints that read it.
 *
 * `rampart_refresh=<token>; Path=/api/auth/session; HttpOnly; SameSite=Strict; Secure`: scripts cannot read it,
 * the browser sends it to the two session endpoints only, never on a cross-site request, and only over https.
 * `Secure` is dropped only when the public URL is plain http on a loopback host and NODE_ENV is not production
 * (local development and tests). SameSite is per *site*: another port or subdomain of the same registrable
 * domain is "same-site" and would get the cookie, so the endpoints also pin the exact origin of the public URL.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';
import type { IdentityServices } from '../services.js';

export const REFRESH_COOKIE = 'rampart_refresh';
export const REFRESH_COOKIE_PATH = '/api/auth/session';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether the refresh cookie carries `Secure`: always, except for a loopback http public URL outside production. */
export function refreshCookieSecure(s: Pick<IdentityServices, 'publicUrl' | 'config'>): boolean {
  const url = new URL(s.publicUrl);
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  return !(loopbackHttp && s.config.NODE_ENV !== 'production');
}

function attributes(s: Pick<IdentityServices, 'publicUrl' | 'config'>, maxAgeSeconds: number): string {
  const secure = refreshCookieSecure(s) ? '; Secure' : '';
  return `Path=${REFRESH_COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

/** Sets the refresh cookie, expiring with its family (never later than the sign-in's 30 days). */
export function setRefreshCookie(
  reply: FastifyReply,
  s: Pick<IdentityServices, 'publicUrl' | 'config'>,
  token: string,
  familyExpiresAt: Date,
): void {
  const maxAge = Math.max(0, Math.round((familyExpiresAt.getTime() - Date.now()) / 1000));
  reply.header('set-cookie', `${REFRESH_COOKIE}=${token}; ${attributes(s, maxAge)}`);
}

export function clearRefreshCookie(
  reply: FastifyReply,
  s: Pick<IdentityServices, 'publicUrl' | 'config'>,
): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=; ${attributes(s, 0)}`);
}

/**
 * The refresh token from the request's cookies, if exactly one cookie has that name. Two of them means one was
 * tossed by another host of the same site (`Domain=` on the parent domain; SameSite does not stop that), and the
 * browser's order would pick whose sign-in the dashboard resumes: neither is used.
 */
export function readRefreshCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie ?? '';
  const found: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === REFRESH_COOKIE) found.push(part.slice(eq + 1).trim());
  }
  return found.length === 1 ? found[0] || undefined : undefined;
}

/**
 * Refuses a request whose `Origin` is not exactly the public URL's origin (scheme, host and port); a missing
 * Origin is refused too (browsers always send it on a POST from script).
 * @throws AppError forbidden
 */
export function requireDashboardOrigin(
  request: FastifyRequest,
  s: Pick<IdentityServices, 'publicUrl'>,
): void {
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin !== new URL(s.publicUrl).origin)
    throw new AppError('forbidden', 'This endpoint only answers the dashboard’s own origin');
}
