import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';
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
      const orgs = await s.db.platform(async (q) => {
        const { rows } = await q.query<{
          id: string;
          name: string;
          region: string;
          created_at: Date;
          members: number;
        }>(
          `SELECT o.id, o.name, o.region, o.created_at, coalesce(c.n, 0) AS members
             FROM orgs o LEFT JOIN rampart_org_member_counts() c ON c.org_id = o.id
            ORDER BY o.created_at, o.id LIMIT 1000`,
        );
        await appendAudit(q, actorOf(request, { userId: op.userId }), {
          orgId: null,
          action: 'operator.orgs_listed',
        });
        return rows;
      });
      return {
        orgs: orgs.map((o) => ({
          orgId: o.id,
          name: o.name,
          region: o.region,
          createdAt: o.created_at.toISOString(),
          members: o.members,
        })),
      };
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
      const exists = await s.db.platform((q) => q.query('SELECT 1 FROM orgs WHERE id = $1', [orgId]));
      if (exists.rowCount === 0) throw new AppError('not_found', 'Org not found');
      const actor = actorOf(request, { userId: op.userId });
      await s.db.platform((q) =>
        appendAudit(q, actor, { orgId: null, action: 'operator.org_accessed', target: `org:${orgId}` }),
      );
      await s.db.org(orgId, (q) =>
        appendAudit(q, actor, {
          orgId,
          action: 'operator.org_accessed',
          target: `org:${orgId}`,
          meta: { what: 'members' },
        }),
      );
      return { members: await listMembers(s, orgId) };
    },
  );
}
