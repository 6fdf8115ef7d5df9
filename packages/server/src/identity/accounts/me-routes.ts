import { z } from 'zod';
import type { App } from '../../platform/http.js';
import { bearer } from '../../platform/params.js';
import { ROLES } from '../../platform/permissions.js';
import type { IdentityServices } from '../services.js';
import { listAccountEvents } from './events.js';
import { tags } from './schemas.js';
import { orgsOf } from './users.js';

/** GET /api/me: the signed-in user, their orgs and roles, and the state of their account. */
export const meView = z.object({
  userId: z.uuid(),
  email: z.string(),
  orgs: z.array(z.object({ orgId: z.uuid(), name: z.string(), role: z.enum(ROLES) })),
  totpEnabled: z.boolean(),
  isOperator: z.boolean(),
  emailVerified: z.boolean(),
});

/** The signed-in user: who they are and their orgs, and their own account events. */
export function registerMeRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/me/events',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          "The signed-in user's own account events (sign-ins, failures, 2FA, CLI devices), newest first; cursor paging",
        querystring: z.strictObject({
          cursor: z
            .string()
            .regex(/^\d{1,18}$/)
            .optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: {
          200: z.object({
            events: z.array(
              z.object({
                seq: z.number(),
                at: z.string(),
                action: z.string(),
                target: z.string().nullable(),
                ip: z.string().nullable(),
                userAgent: z.string().nullable(),
                meta: z.record(z.string(), z.unknown()),
              }),
            ),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      const { cursor, limit } = request.query;
      return listAccountEvents(s.db, p.userId, {
        before: cursor === undefined ? undefined : Number(cursor),
        limit,
      });
    },
  );

  app.get(
    '/api/me',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'The signed-in user and their orgs',
        response: {
          200: meView,
        },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      return {
        userId: p.userId,
        email: p.email,
        orgs: await orgsOf(s, p.userId),
        totpEnabled: p.totpEnabled,
        isOperator: p.isOperator,
        emailVerified: p.emailVerified,
      };
    },
  );
}
