import { z } from 'zod';
import { attachRefreshCookie } from '../identity/accounts/session-issue.js';
import type { SessionPrincipal } from '../identity/principal.js';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { can, ROLES } from '../platform/permissions.js';
import { acceptInvitation, listInvitations, lookupInvitation, revokeInvitation } from './invitations.js';

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
/** What an invitation link is for, as the person invited sees it before accepting. */
export const invitationLookup = z.object({
  orgName: z.string(),
  inviter: z.string().nullable(),
  role,
  email: z.string(),
  accountExists: z.boolean(),
  status,
  expiresAt: z.string(),
});
// The link's token is the credential here; its length bounds only guard against junk.
const token = z.string().min(20).max(200);
const tags = ['orgs'];

/** Invitation listing and revocation (org routes), and the public lookup and accept routes of the mailed link. */
export function registerInvitationRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/orgs/:orgId/invitations',
    {
      config: { orgAction: 'members.read' },
      schema: {
        tags,
        security: bearer,
        summary: 'Open invitations (pending or expired, not yet accepted or revoked)',
        params: orgParams,
        response: { 200: z.object({ invitations: z.array(invitation) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { invitations: await listInvitations(s, access.orgId) };
    },
  );

  app.delete(
    '/api/orgs/:orgId/invitations/:id',
    {
      // Revoking an invitation to the owner role also needs members.manage_owners (revokeInvitation checks it).
      config: { orgAction: 'members.manage' },
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke an open invitation; its link stops working',
        params: orgItemParams,
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
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
        response: { 200: invitationLookup },
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
