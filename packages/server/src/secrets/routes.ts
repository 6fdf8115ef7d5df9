import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';
import { listSecrets, putSecret } from './service.js';

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'Use 1-100 letters, digits, dot, dash or underscore');
export const summary = z.object({ name: z.string(), masked: z.string(), updatedAt: z.string() });

/** Org secrets: write-only values, sealed at rest, shown masked on every read. */
export function registerSecretRoutes(app: App, s: IdentityServices): void {
  app.put(
    '/api/orgs/:orgId/secrets/:name',
    {
      config: { orgAction: 'secrets.write' },
      schema: {
        tags: ['secrets'],
        security: bearer,
        summary: 'Create or replace a secret; it is never shown again, only masked',
        params: orgParams.extend({ name }),
        body: z.strictObject({ value: z.string().min(1).max(16_384) }),
        response: { 200: summary },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) =>
        putSecret(q, s.ring, actorOf(request), access.orgId, request.params.name, request.body.value),
      );
    },
  );

  app.get(
    '/api/orgs/:orgId/secrets',
    {
      config: { orgAction: 'secrets.read' },
      schema: {
        tags: ['secrets'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ secrets: z.array(summary) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { secrets: await s.db.org(access.orgId, (q) => listSecrets(q, access.orgId)) };
    },
  );
}
