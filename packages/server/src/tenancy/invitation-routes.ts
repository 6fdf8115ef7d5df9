import { z } from 'zod';
import { attachRefreshCookie } from '../identity/accounts/session-issue.js';
import type { SessionPrincipal } from '../identity/principal.js';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { acceptInvitation, listInvitations, lookupInvitation, revokeInvitation } from './invitations.js';
import { can, ROLES } from './permissions.js';

const role = z.enum(ROLES);
const status = z.enum(['pending', 'expired', 'used', 'revoked']);
/** A pending invitation as the org sees it (`POST /api/orgs/:orgId/members` answers with one). */
export const invitation = z.object({
  invitationId: z.uuid(),
  email: z.string(),
  role,
  status,
  expiresAt: z.string(),
  createdAt: z.string(),
});
// The link's token is the credential here; its length bounds only guard against junk.
const token = z.string().min(20).max(200);
const tags = ['orgs'];

/** Invitation listing and revocation (org routes), and the public lookup and accept routes of the mailed link. */
export function registerInvitationRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/orgs/:orgId/invitations',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Open invitations (pending or expired, not yet accepted or revoked)',
        params: orgParams,
        response: { 200: z.object({ invitations: z.array(invitation) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request, request.params.orgId, 'members.read');
      return { invitations: await listInvitations(s, access.orgId) };
    },
  );

  app.delete(
    '/api/orgs/:orgId/invitations/:id',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke an open invitation; its link stops working',
        params: orgItemParams,
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request, request.params.orgId, 'members.manage');
      await revokeInvitation(
        s,
        actorOf(request),
        can(access.role, 'members.manage_owners'),
        access.orgId,
        request.params.id,
      );
      return { ok: true as const };
    },
  );

  app.post(
    '/api/auth/invitations/lookup',
    {
      schema: {
        tags: ['identity'],
        summary:
          'What an invitation link is for: org, inviter, role, address, and whether it can still be used',
        body: z.strictObject({ token }),
        response: {
          200: z.object({
            orgName: z.string(),
            inviter: z.string().nullable(),
            role,
            email: z.string(),
            accountExists: z.boolean(),
            status,
            expiresAt: z.string(),
          }),
        },
      },
    },
    async (request) => lookupInvitation(s, request.body.token),
  );

  app.post(
    '/api/auth/invitations/accept',
    {
      schema: {
        tags: ['identity'],
        security: bearer,
        summary:
          'Accept an invitation: new people choose a password (a session is returned); existing accounts must be signed in as the invited, verified address',
        body: z.strictObject({
          token,
          password: z.string().min(1).max(1024).optional(),
          session: z.literal('cookie').optional(),
        }),
        response: {
          200: z.object({
            orgId: z.uuid(),
            role,
            userId: z.uuid(),
            token: z.string().optional(),
            expiresAt: z.string().optional(),
          }),
        },
      },
    },
    async (request, reply) => {
      let session: SessionPrincipal | null = null;
      if (request.headers.authorization) session = await s.auth.session(request);
      const { familyId, ...r } = await acceptInvitation(
        s,
        actorOf(request),
        request.body.token,
        request.body.password,
        session,
      );
      // A new account signed in by its acceptance: the dashboard asks for the refresh cookie too.
      if (familyId && request.body.session === 'cookie') await attachRefreshCookie(s, reply, familyId);
      return r;
    },
  );
}
