import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import type { App } from '../../platform/http.js';
import { okBody } from '../../platform/params.js';
import type { IdentityServices } from '../services.js';
import { auditAccountEvent } from './events.js';
import { familyOfRefreshToken, revokeFamily, rotateRefreshToken, sessionGone } from './refresh.js';
import {
  clearRefreshCookie,
  readRefreshCookie,
  requireDashboardOrigin,
  setRefreshCookie,
} from './refresh-cookie.js';
import { signAccessToken } from './session-issue.js';

const tags = ['identity'];

/**
 * The dashboard's cookie session endpoints. Both read the HttpOnly refresh cookie (Path=/api/auth/session) and
 * answer only the public URL's exact origin (403 forbidden otherwise, a missing Origin included).
 */
export function registerRefreshRoutes(app: App, s: IdentityServices): void {
  app.post(
    '/api/auth/session',
    {
      schema: {
        tags,
        summary:
          'Dashboard: trade the refresh cookie for a 15-minute session JWT; the cookie is rotated on every use, and a rotated one presented again signs that sign-in out everywhere',
        response: { 200: z.object({ token: z.string(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      requireDashboardOrigin(request, s);
      reply.header('cache-control', 'no-store');
      const presented = readRefreshCookie(request);
      if (!presented) throw sessionGone();
      const r = await rotateRefreshToken(s, actorOf(request), presented);
      if (!r.ok) {
        clearRefreshCookie(reply, s);
        throw sessionGone();
      }
      setRefreshCookie(reply, s, r.token, r.family.expiresAt);
      return signAccessToken(s, r.family);
    },
  );

  app.post(
    '/api/auth/session/logout',
    {
      schema: {
        tags,
        summary: 'Dashboard: sign this browser out (revokes the sign-in of the refresh cookie and clears it)',
        response: { 200: okBody },
      },
    },
    async (request, reply) => {
      requireDashboardOrigin(request, s);
      const presented = readRefreshCookie(request);
      const family = presented ? await familyOfRefreshToken(s, presented) : null;
      const userId = family ? await revokeFamily(s, family) : null;
      if (userId) await auditAccountEvent(s, userId, { ...actorOf(request), userId }, 'auth.logout');
      clearRefreshCookie(reply, s);
      return { ok: true as const };
    },
  );
}
