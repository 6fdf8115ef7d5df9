import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';
import { listOrgsForOperator, recordOperatorAccess } from './operator-views.js';
import { listMembers } from './orgs.js';

const org = z.object({
  orgId: z.uuid(),
  name: z.string(),
  region: z.string(),
  createdAt: z.string(),
  members: z.number(),
});

/**
 * Platform operators: cross-org read access for support. Every access is audited (platform chain, and the
 * org's own chain when one org is opened, so its admins see that support looked). TOTP is mandatory.
 */
export function registerAdminRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/admin/orgs',
    { schema: { tags: ['admin'], security: bearer, response: { 200: z.object({ orgs: z.array(org) }) } } },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      return { orgs: await listOrgsForOperator(s, actorOf(request, { userId: op.userId })) };
    },
  );

  app.get(
    '/api/admin/orgs/:orgId/members',
    {
      schema: {
        tags: ['admin'],
        security: bearer,
        params: orgParams,
        response: {
          200: z.object({
            members: z.array(
              z.object({ userId: z.uuid(), email: z.string(), role: z.string(), createdAt: z.string() }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const orgId = request.params.orgId;
      await recordOperatorAccess(s, actorOf(request, { userId: op.userId }), orgId, 'members');
      return { members: await listMembers(s, orgId) };
    },
  );
}
