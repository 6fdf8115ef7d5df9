import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../../platform/http.js';
import { okBody } from '../../platform/params.js';
import type { OidcClients } from './clients.js';
import { deleteProvider, GOOGLE_ISSUER, issuerProblem, listProviders, saveProvider } from './providers.js';
import { providerName } from './schemas.js';
import type { OidcServices } from './services.js';

/** Operators' configuration of the sign-in providers; every change drops the discovered configurations. */
export function registerOidcProviderRoutes(app: App, s: OidcServices, clients: OidcClients): void {
  const providerView = z.object({
    name: z.string(),
    displayName: z.string(),
    issuer: z.string(),
    clientId: z.string(),
    clientSecretMasked: z.string(),
    redirectUri: z.string(),
  });
  const view = (p: {
    name: string;
    display_name: string;
    issuer: string;
    client_id: string;
    client_secret_masked: string;
  }) => ({
    name: p.name,
    displayName: p.display_name,
    issuer: p.issuer,
    clientId: p.client_id,
    clientSecretMasked: p.client_secret_masked,
    redirectUri: `${s.publicUrl.replace(/\/$/, '')}/api/auth/oidc/callback`,
  });

  app.get(
    '/api/admin/oidc-providers',
    { schema: { tags: ['admin'], response: { 200: z.object({ providers: z.array(providerView) }) } } },
    async (request) => {
      await s.auth.requireOperator(request);
      return { providers: (await s.db.platform(listProviders)).map(view) };
    },
  );

  app.put(
    '/api/admin/oidc-providers/:name',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Create or update a sign-in provider (preset "google" fills the issuer); the client secret is sealed',
        params: z.object({ name: providerName }),
        body: z.strictObject({
          preset: z.enum(['google']).optional(),
          issuer: z.string().max(500).optional(),
          displayName: z.string().trim().min(1).max(100).optional(),
          clientId: z.string().min(1).max(500),
          clientSecret: z.string().min(1).max(2000).optional(),
        }),
        response: { 200: providerView },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const b = request.body;
      const issuer = b.preset === 'google' ? GOOGLE_ISSUER : b.issuer;
      if (!issuer)
        throw new AppError('validation_failed', 'Give an issuer URL or a preset', {
          details: { issues: [{ in: 'body', path: '/issuer', message: 'required without a preset' }] },
        });
      const problem = issuerProblem(issuer);
      if (problem)
        throw new AppError('validation_failed', problem, {
          details: { issues: [{ in: 'body', path: '/issuer', message: problem }] },
        });
      const row = await saveProvider(s, actorOf(request, { userId: op.userId }), {
        name: request.params.name,
        displayName: b.displayName ?? (b.preset === 'google' ? 'Google' : request.params.name),
        issuer,
        clientId: b.clientId,
        clientSecret: b.clientSecret,
      });
      clients.forget();
      return view(row);
    },
  );

  app.delete(
    '/api/admin/oidc-providers/:name',
    {
      schema: {
        tags: ['admin'],
        params: z.object({ name: providerName }),
        response: { 200: okBody },
      },
    },
    async (request) => {
      await s.auth.requireOperator(request);
      if (!(await deleteProvider(s, request.params.name)))
        throw new AppError('not_found', 'No such sign-in provider');
      clients.forget();
      return { ok: true as const };
    },
  );
}
