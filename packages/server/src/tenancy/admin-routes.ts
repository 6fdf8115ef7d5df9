import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';
import { entry } from './audit-routes.js';
import {
  listOrgsForOperator,
  orgAudit,
  orgConnections,
  orgCredentials,
  orgForOperator,
  orgInvitations,
  orgJobs,
  orgRuns,
  orgWidgets,
  platformAudit,
  recordOperatorAccess,
  verifyPlatformAudit,
} from './operator-views.js';
import { listMembers } from './orgs.js';

export const operatorOrg = z.object({
  orgId: z.uuid(),
  name: z.string(),
  region: z.string(),
  createdAt: z.string(),
  members: z.number(),
  plan: z.string(),
  suspended: z.boolean(),
  suspendedAt: z.string().nullable(),
  usage: z.object({ jobs: z.number(), widgets: z.number(), connections: z.number(), apiKeys: z.number() }),
  lastActivityAt: z.string().nullable(),
});
export const operatorOrgDetail = operatorOrg.extend({ suspendedReason: z.string().nullable() });
export const operatorJob = z.object({
  id: z.uuid(),
  name: z.string(),
  schedule: z.string(),
  timezone: z.string(),
  method: z.string(),
  target: z.string().describe("the URL's origin only"),
  enabled: z.boolean(),
  nextRunAt: z.string().nullable(),
  consecutiveFailures: z.number(),
  createdAt: z.string(),
});
export const operatorRun = z.object({
  id: z.uuid(),
  jobId: z.uuid(),
  jobName: z.string(),
  trigger: z.string(),
  scheduledFor: z.string(),
  startedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  status: z.string(),
  httpStatus: z.number().nullable(),
  attempts: z.number(),
  error: z.string().nullable(),
});
export const operatorWidget = z.object({
  id: z.uuid(),
  name: z.string(),
  allowedOrigins: z.array(z.string()),
  model: z.string(),
  createdAt: z.string(),
});
export const operatorConnection = z.object({
  id: z.uuid(),
  name: z.string(),
  mode: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const operatorCredential = z.object({
  kind: z.enum(['api_key', 'runtime_token', 'cli_credential']),
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  userId: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const operatorInvitation = z.object({
  invitationId: z.uuid(),
  email: z.string(),
  role: z.string(),
  status: z.enum(['pending', 'expired', 'used', 'revoked']),
  expiresAt: z.string(),
  createdAt: z.string(),
});
const auditPage = z.object({ entries: z.array(entry), nextCursor: z.string().nullable() });
const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional(),
});
export const platformVerify = z.object({
  ok: z.boolean(),
  checked: z.number(),
  head: z.string(),
  firstBadSeq: z.number().optional(),
  reason: z.string().optional(),
});

const tags = ['admin'];

/**
 * Platform operators: cross-org read access for support. Every access is audited (platform chain, and the
 * org's own chain when one org is opened, so its admins see that support looked). TOTP is mandatory. Support
 * actions live in support-routes.ts.
 */
export function registerAdminRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/admin/orgs',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Orgs newest first with plan, usage, suspension and last activity; q matches the name, an exact org id or a member e-mail',
        querystring: z.strictObject({
          q: z.string().trim().max(254).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
        }),
        response: { 200: z.object({ orgs: z.array(operatorOrg), total: z.number() }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const { q, limit, offset } = request.query;
      return listOrgsForOperator(s, actorOf(request, { userId: op.userId }), { q, limit, offset });
    },
  );

  app.get(
    '/api/admin/orgs/:orgId',
    {
      schema: {
        tags,
        security: bearer,
        summary: "One org's summary (audited in the org's chain)",
        params: orgParams,
        response: { 200: z.object({ org: operatorOrgDetail }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      return { org: await orgForOperator(s, actorOf(request, { userId: op.userId }), request.params.orgId) };
    },
  );

  app.get(
    '/api/admin/orgs/:orgId/members',
    {
      schema: {
        tags,
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

  /** One read-only list of an org: operator check, then the access recorded in both chains, then the read. */
  const orgList = <T extends z.ZodType>(
    what: string,
    item: T,
    read: (orgId: string) => Promise<z.output<T>[]>,
  ) =>
    app.get(
      `/api/admin/orgs/:orgId/${what}`,
      {
        schema: {
          tags,
          security: bearer,
          summary: `The org's ${what}, read-only and without secrets (audited in the org's chain)`,
          params: orgParams,
          response: { 200: z.object({ [what]: z.array(item) }) },
        },
      },
      async (request) => {
        const op = await s.auth.requireOperator(request);
        const orgId = request.params.orgId;
        await recordOperatorAccess(s, actorOf(request, { userId: op.userId }), orgId, what);
        const items = await read(orgId);
        return { [what]: items };
      },
    );
  orgList('jobs', operatorJob, (orgId) => orgJobs(s, orgId));
  orgList('runs', operatorRun, (orgId) => orgRuns(s, orgId));
  orgList('widgets', operatorWidget, (orgId) => orgWidgets(s, orgId));
  orgList('connections', operatorConnection, (orgId) => orgConnections(s, orgId));
  orgList('credentials', operatorCredential, (orgId) => orgCredentials(s, orgId));
  orgList('invitations', operatorInvitation, (orgId) => orgInvitations(s, orgId));

  app.get(
    '/api/admin/orgs/:orgId/audit',
    {
      schema: {
        tags,
        security: bearer,
        summary: "The org's audit log, newest first (before: a seq; audited in the org's chain)",
        params: orgParams,
        querystring: pageQuery,
        response: { 200: auditPage },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const orgId = request.params.orgId;
      await recordOperatorAccess(s, actorOf(request, { userId: op.userId }), orgId, 'audit');
      const { limit, before } = request.query;
      return orgAudit(s, orgId, limit, before === undefined ? undefined : Number(before));
    },
  );

  app.get(
    '/api/admin/audit',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'The platform audit chain, newest first (before: a seq)',
        querystring: pageQuery,
        response: { 200: auditPage },
      },
    },
    async (request) => {
      await s.auth.requireOperator(request);
      const { limit, before } = request.query;
      return platformAudit(s, limit, before === undefined ? undefined : Number(before));
    },
  );

  app.post(
    '/api/admin/audit/verify',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Recompute the platform audit chain: ok, rows checked, the first bad seq when it does not hold',
        response: { 200: platformVerify },
      },
    },
    async (request) => {
      await s.auth.requireOperator(request);
      return verifyPlatformAudit(s);
    },
  );
}
