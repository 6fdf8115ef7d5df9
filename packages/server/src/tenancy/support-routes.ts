import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';
import {
  forcePasswordReset,
  reasonBody,
  resendOrgInvitation,
  resumeOrg,
  revokeOrgCredential,
  suspendOrg,
} from './support.js';

const tags = ['admin'];

/**
 * Operator support actions (platform operators with a TOTP session only). Each needs `reason` (10 to 500
 * characters after trimming), written to the audit meta on the platform chain and the org's chain.
 */
export function registerSupportRoutes(app: App, s: IdentityServices): void {
  app.post(
    '/api/admin/orgs/:orgId/suspend',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Suspend an org: its keys, tokens, widgets, agents and jobs stop with 403 org_suspended; members can only read',
        params: orgParams,
        body: reasonBody,
        response: {
          200: z.object({ orgId: z.uuid(), suspended: z.literal(true), suspendedAt: z.string() }),
        },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const orgId = request.params.orgId;
      const r = await suspendOrg(s, actorOf(request, { userId: op.userId }), orgId, request.body.reason);
      return { orgId, suspended: true as const, suspendedAt: r.suspendedAt };
    },
  );

  app.post(
    '/api/admin/orgs/:orgId/resume',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Lift a suspension: everything the org had works again',
        params: orgParams,
        body: reasonBody,
        response: { 200: z.object({ orgId: z.uuid(), suspended: z.literal(false) }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const orgId = request.params.orgId;
      await resumeOrg(s, actorOf(request, { userId: op.userId }), orgId, request.body.reason);
      return { orgId, suspended: false as const };
    },
  );

  app.post(
    '/api/admin/orgs/:orgId/credentials/:credentialId/revoke',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          "Revoke an org's API key or runtime token, or a member's CLI credential; every node stops accepting it",
        params: z.object({ orgId: z.uuid(), credentialId: z.uuid() }),
        body: reasonBody,
        response: { 200: z.object({ revoked: z.literal(true) }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const { orgId, credentialId } = request.params;
      await revokeOrgCredential(
        s,
        actorOf(request, { userId: op.userId }),
        orgId,
        credentialId,
        request.body.reason,
      );
      return { revoked: true as const };
    },
  );

  app.post(
    '/api/admin/orgs/:orgId/invitations/:invitationId/resend',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Mail an open invitation again with a fresh link (the old link stops working)',
        params: z.object({ orgId: z.uuid(), invitationId: z.uuid() }),
        body: reasonBody,
        response: { 200: z.object({ resent: z.literal(true) }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const { orgId, invitationId } = request.params;
      await resendOrgInvitation(
        s,
        actorOf(request, { userId: op.userId }),
        orgId,
        invitationId,
        request.body.reason,
      );
      return { resent: true as const };
    },
  );

  app.post(
    '/api/admin/users/:userId/force-password-reset',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Force a password reset: the password stops working, every session, refresh token and CLI credential ends, a reset mail is queued',
        params: z.object({ userId: z.uuid() }),
        body: reasonBody,
        response: { 200: z.object({ queued: z.literal(true) }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      await forcePasswordReset(
        s,
        actorOf(request, { userId: op.userId }),
        request.params.userId,
        request.body.reason,
      );
      return { queued: true as const };
    },
  );
}
