import { z } from 'zod';
import { normalizeEmail } from '../identity/accounts/policy.js';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import { fallbacks } from '../platform/fallbacks.js';
import { hashSecret } from '../platform/hash.js';
import type { App } from '../platform/http.js';
import { gatewayLimitsInput } from '../platform/limit-params.js';
import { bearer, okBody, orgParams, region } from '../platform/params.js';
import { can, ROLES } from '../platform/permissions.js';
import { take } from '../platform/ratelimit.js';
import { invitation } from './invitation-routes.js';
import { createInvitation } from './invitations.js';
import { changeRole, createOrg, deleteOrg, listMembers, removeMember } from './orgs.js';
import { readOrg, readSettings, updateSettings } from './settings.js';

const role = z.enum(ROLES);
export const member = z.object({ userId: z.uuid(), email: z.string(), role, createdAt: z.string() });
const memberParams = z.object({ orgId: z.uuid(), userId: z.uuid() });
export const settings = z.object({
  piiRedaction: z.boolean(),
  redactionMode: z.enum(['mask', 'reversible']),
  redactCompletions: z.boolean(),
  region,
  retentionDays: z.number().int(),
  /** Gateway limits of the whole org; null: unlimited (docs/GATEWAY.md). */
  requestsPerMinute: z.number().int().nullable(),
  tokensPerMinute: z.number().int().nullable(),
  monthlyBudgetUsd: z.number().nullable(),
  /** The gateway's ordered providers per model: `{"<model>": ["provider-a", "provider-b"]}` (issue 24 §3). */
  fallbacks: z.record(z.string(), z.array(z.string())),
});
const tags = ['orgs'];

export function registerTenancyRoutes(app: App, s: IdentityServices): void {
  const invitesPerUser = s.limiters.create('invite:user', s.config.RAMPART_INVITES_PER_USER_PER_HOUR, 3600);
  // The same address in the same org: 3 mails an hour (a typo fixed, a lost mail re-sent).
  const invitesPerAddress = s.limiters.create('invite:address', 3, 3600);
  app.post(
    '/api/orgs',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Create an org; the caller becomes its owner',
        body: z.strictObject({ name: z.string().trim().min(1).max(200) }),
        response: { 201: z.object({ orgId: z.uuid(), name: z.string(), role }) },
      },
    },
    async (request, reply) => {
      const p = await s.auth.session(request);
      return reply.code(201).send(await createOrg(s, actorOf(request), p.userId, request.body.name));
    },
  );

  app.get(
    '/api/orgs/:orgId',
    {
      config: { orgAction: 'org.read' },
      schema: {
        tags,
        security: bearer,
        params: orgParams,
        response: {
          200: z.object({
            orgId: z.uuid(),
            name: z.string(),
            region,
            role,
            createdAt: z.string(),
            /** Suspended by a platform operator: reads work, writes answer 403 org_suspended. */
            suspended: z.boolean(),
            suspendedAt: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const o = await readOrg(s, access.orgId);
      return {
        orgId: access.orgId,
        name: o.name,
        region: o.region,
        role: access.role,
        createdAt: o.createdAt,
        suspended: o.suspended,
        suspendedAt: o.suspendedAt,
      };
    },
  );

  app.delete(
    '/api/orgs/:orgId',
    {
      config: { orgAction: 'org.delete' },
      schema: {
        tags,
        security: bearer,
        summary: 'Hard-delete the org and everything it owns (owner only; type the org name to confirm)',
        params: orgParams,
        body: z.strictObject({ confirm: z.string().min(1).max(200) }),
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await deleteOrg(s, actorOf(request), access.orgId, request.body.confirm);
      await s.orgChanged(access.orgId);
      return { ok: true as const };
    },
  );

  app.get(
    '/api/orgs/:orgId/members',
    {
      config: { orgAction: 'members.read' },
      schema: {
        tags,
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ members: z.array(member) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { members: await listMembers(s, access.orgId) };
    },
  );

  app.post(
    '/api/orgs/:orgId/members',
    {
      // Inviting with role owner also needs members.manage_owners (the body picks it; checked below).
      config: { orgAction: 'members.manage' },
      schema: {
        tags,
        security: bearer,
        summary:
          'Invite a person by e-mail: creates a pending invitation they accept as the verified owner of the address',
        params: orgParams,
        body: z.strictObject({ email: z.email().max(254), role }),
        response: { 201: invitation },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      if (request.body.role === 'owner' && !can(access.role, 'members.manage_owners'))
        throw new AppError('forbidden', 'Only owners can add owners');
      const p = access.principal;
      // Every invitation mails an address the inviter picks (re-inviting mails it again): capped per inviter,
      // and per org and address, so the outbox is no relay for mail bombs. Keys hold no address in clear.
      const address = hashSecret('invite-address', `${access.orgId}:${normalizeEmail(request.body.email)}`);
      await take(invitesPerUser, p.userId, 'Too many invitations; try later');
      await take(invitesPerAddress, address, 'Too many invitations; try later');
      return reply
        .code(201)
        .send(
          await createInvitation(
            s,
            actorOf(request),
            { userId: p.userId, email: p.email },
            access.orgId,
            request.body.email,
            request.body.role,
            can(access.role, 'members.manage_owners'),
          ),
        );
    },
  );

  app.patch(
    '/api/orgs/:orgId/members/:userId',
    {
      // Granting or taking the owner role also needs members.manage_owners (body or target; changeRole checks).
      config: { orgAction: 'members.manage' },
      schema: {
        tags,
        security: bearer,
        params: memberParams,
        body: z.strictObject({ role }),
        response: { 200: z.object({ userId: z.uuid(), role }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return changeRole(
        s,
        actorOf(request),
        access.role,
        access.orgId,
        request.params.userId,
        request.body.role,
      );
    },
  );

  app.delete(
    '/api/orgs/:orgId/members/:userId',
    {
      // Removing someone else needs members.manage; leaving (your own user id) needs only org.read, which the
      // handler asks for instead. Removing an owner also needs members.manage_owners (removeMember checks it).
      config: { orgAction: 'members.manage' },
      schema: {
        tags,
        security: bearer,
        summary: 'Remove a member, or leave the org (own user id)',
        params: memberParams,
        response: { 200: okBody },
      },
    },
    async (request) => {
      const self = (await s.auth.session(request)).userId === request.params.userId;
      const access = await s.auth.requireOrg(request, self ? 'org.read' : undefined);
      await removeMember(s, actorOf(request), access.role, access.orgId, request.params.userId, self);
      return { ok: true as const };
    },
  );

  app.get(
    '/api/orgs/:orgId/settings',
    {
      config: { orgAction: 'settings.read' },
      schema: { tags, security: bearer, params: orgParams, response: { 200: settings } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return readSettings(s, access.orgId);
    },
  );

  app.patch(
    '/api/orgs/:orgId/settings',
    {
      config: { orgAction: 'settings.write' },
      schema: {
        tags,
        security: bearer,
        params: orgParams,
        body: z
          .strictObject({
            piiRedaction: z.boolean().optional(),
            redactionMode: z.enum(['mask', 'reversible']).optional(),
            redactCompletions: z.boolean().optional(),
            region: region.optional(),
            retentionDays: z.number().int().min(1).max(3650).optional(),
            ...gatewayLimitsInput,
            /** Replaces the whole map; `{}` clears it. Checked against the org's providers and region. */
            fallbacks: fallbacks.optional(),
          })
          .refine((b) => Object.keys(b).length > 0, 'Send at least one setting'),
        response: { 200: settings },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await updateSettings(s, actorOf(request), access.orgId, request.body);
      await s.orgChanged(access.orgId);
      return readSettings(s, access.orgId);
    },
  );
}
