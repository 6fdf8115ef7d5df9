import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import type { IdentityServices } from '../services.js';
import { cliUserEmail, listCliCredentials, revokeCliCredential } from './cli-credentials.js';
import { auditUserEvent } from './grant.js';

const tags = ['cli-login'];

export const cliCredential = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string(),
});

/** The CLI sessions a device sign-in minted: listed and revoked from the dashboard, or by the CLI itself. */
export function registerCliCredentialRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/cli-credentials',
    {
      schema: {
        tags,
        security: bearer,
        summary: "The signed-in user's CLI sessions (never the token; dashboard session only)",
        response: { 200: z.object({ credentials: z.array(cliCredential) }) },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      return { credentials: await listCliCredentials(s, p.userId) };
    },
  );

  app.delete(
    '/api/cli-credentials/:id',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke one of your CLI sessions at once (dashboard session only)',
        params: z.object({ id: z.uuid() }),
        response: { 200: okBody },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      const r = await revokeCliCredential(s, p.userId, request.params.id);
      if (!r) throw new AppError('not_found', 'CLI session not found');
      await auditUserEvent(
        s,
        p.userId,
        actorOf(request),
        'auth.cli_credential_revoked',
        `cli_credential:${request.params.id}`,
        { prefix: r.prefix, name: r.name, via: 'dashboard' },
      );
      return { ok: true as const };
    },
  );

  app.post(
    '/api/auth/cli/logout',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke the CLI credential this request carries (rampart logout)',
        response: { 200: okBody },
      },
    },
    async (request) => {
      const p = await s.auth.cli(request);
      const r = await revokeCliCredential(s, p.userId, p.credentialId);
      if (r) {
        await auditUserEvent(
          s,
          p.userId,
          actorOf(request, { userId: p.userId }),
          'auth.cli_credential_revoked',
          `cli_credential:${p.credentialId}`,
          { prefix: r.prefix, name: r.name, via: 'cli' },
        );
      }
      return { ok: true as const };
    },
  );

  app.get(
    '/api/cli/whoami',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Who a CLI credential belongs to (CLI credentials only)',
        response: { 200: z.object({ userId: z.uuid(), email: z.string(), credentialId: z.uuid() }) },
      },
    },
    async (request) => {
      const p = await s.auth.cli(request);
      const email = await cliUserEmail(s, p.userId);
      if (!email) throw new AppError('unauthorized', 'Missing or invalid credentials');
      return { userId: p.userId, email, credentialId: p.credentialId };
    },
  );
}
