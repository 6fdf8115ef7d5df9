import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../../platform/http.js';
import { okBody } from '../../platform/params.js';
import { ipLimitKey, take } from '../../platform/ratelimit.js';
import { reauthenticate } from '../accounts/actions.js';
import { auditAccountEvent } from '../accounts/events.js';
import { attachRefreshCookie } from '../accounts/session-issue.js';
import { OidcClients } from './clients.js';
import { exchangeResult, linkWithPassword, proveControlForLink } from './exchange.js';
import { listIdentities, unlinkIdentity } from './identities.js';
import { registerOidcProviderRoutes } from './provider-routes.js';
import { listProviders, redirectUri } from './providers.js';
import { OidcRefusal } from './refusal.js';
import { BINDING_COOKIE } from './results.js';
import { providerName } from './schemas.js';
import type { OidcServices } from './services.js';
import { finishSignIn, startSignIn } from './sign-in.js';

const secondFactor = {
  totp: z
    .string()
    .regex(/^\d{6}$/)
    .optional(),
  recoveryCode: z.string().min(1).max(64).optional(),
};
const session = z.object({ token: z.string(), expiresAt: z.string() });

function readBinding(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === BINDING_COOKIE) return v.join('=') || undefined;
  }
  return undefined;
}

function setBinding(reply: FastifyReply, s: OidcServices, value: string, maxAge: number): void {
  const secure = s.publicUrl.startsWith('https:') ? '; Secure' : '';
  // Lax: sent on the provider's top-level redirect back to us, never on cross-site subrequests.
  reply.header(
    'set-cookie',
    `${BINDING_COOKIE}=${value}; Path=/api/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`,
  );
}

/** Dashboard opt-in to the HttpOnly refresh cookie (see accounts/schemas.ts). */
const sessionMode = z.literal('cookie').optional();

/** A provider as the sign-in page lists it (public: no issuer or client id). */
export const publicProvider = z.object({ name: z.string(), displayName: z.string() });

/** A sign-in provider linked to the signed-in account. */
export const linkedIdentity = z.object({
  id: z.uuid(),
  provider: z.string(),
  displayName: z.string(),
  email: z.string().nullable(),
  createdAt: z.string(),
  lastLoginAt: z.string().nullable(),
});

/** OpenID Connect sign-in (dashboard) and the operators' provider configuration. */
export function registerOidcRoutes(app: App, s: OidcServices): void {
  const clients = new OidcClients(s);
  // Anonymous routes that write rows: a per-IP budget keeps them from being used to fill tables or the audit log.
  const perIp = s.limiters.create('oidc:ip', s.config.RAMPART_OIDC_PER_IP_PER_MINUTE, 60);
  const startLimiter = async (request: FastifyRequest) => {
    await take(perIp, ipLimitKey(request.ip), 'Too many sign-in attempts from this address');
  };

  app.get(
    '/api/auth/oidc/providers',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign-in providers the dashboard offers (public)',
        response: {
          200: z.object({ providers: z.array(publicProvider) }),
        },
      },
    },
    async () => ({
      providers: (await s.db.platform(listProviders)).map((p) => ({
        name: p.name,
        displayName: p.display_name,
      })),
    }),
  );

  app.post(
    '/api/auth/oidc/:name/start',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Start a sign-in (or, with link and a session, link the signed-in account): returns the provider URL to open; sets an HttpOnly cookie binding the flow to this browser',
        params: z.object({ name: providerName }),
        body: z
          .strictObject({
            link: z.boolean().default(false),
            // Linking needs fresh proof of control, not only a (possibly stolen) session: the password, and TOTP.
            password: z.string().min(1).max(1024).optional(),
            ...secondFactor,
          })
          .default({ link: false }),
        response: { 200: z.object({ authorizationUrl: z.string() }) },
      },
    },
    async (request, reply) => {
      await startLimiter(request);
      let linkUserId: string | null = null;
      if (request.body.link) {
        const me = await s.auth.session(request);
        await proveControlForLink(s, actorOf(request), request.ip, me.userId, request.body);
        linkUserId = me.userId;
      }
      const { authorizationUrl, binding } = await startSignIn(s, clients, request.params.name, linkUserId);
      setBinding(reply, s, binding, 600);
      return { authorizationUrl };
    },
  );

  app.get(
    '/api/auth/oidc/callback',
    {
      schema: {
        tags: ['auth'],
        summary: 'Where providers redirect after sign-in; redirects to the dashboard',
        hide: false,
      },
    },
    async (request, reply) => {
      // The redirect URI exactly as registered (RAMPART_PUBLIC_URL may have a path), with the provider's query.
      const url = new URL(redirectUri(s.publicUrl));
      url.search = new URL(request.url, 'http://callback.invalid').search;
      const back = `${s.publicUrl.replace(/\/$/, '')}/login/oidc`;
      try {
        await startLimiter(request);
        const r = await finishSignIn(s, clients, actorOf(request), url, readBinding(request));
        // The one-time code travels in the fragment: never sent to a server, never in access logs.
        return reply.redirect(`${back}#code=${encodeURIComponent(r.code)}&outcome=${r.outcome}`, 303);
      } catch (err) {
        if (err instanceof AppError && err.code === 'rate_limited') throw err;
        if (!(err instanceof OidcRefusal)) throw err;
        await auditAccountEvent(s, null, actorOf(request), 'auth.oidc_refused', { reason: err.reason });
        return reply.redirect(`${back}#error=${err.reason}`, 303);
      }
    },
  );

  app.post(
    '/api/auth/oidc/exchange',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Trade the one-time code from the callback (same browser) for a session; accounts with TOTP also send the code. An existing account not yet linked answers linkRequired.',
        body: z.strictObject({ code: z.string().min(20).max(100), ...secondFactor, session: sessionMode }),
        response: {
          200: z.union([session, z.object({ linkRequired: z.literal(true), email: z.string().nullable() })]),
        },
      },
    },
    async (request, reply) => {
      return exchangeResult(
        s,
        actorOf(request),
        request.ip,
        request.body.code,
        readBinding(request),
        request.body,
        request.body.session === 'cookie' ? reply : undefined,
      );
    },
  );

  app.post(
    '/api/auth/oidc/link',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Link a provider identity to the existing account with its e-mail: only when the provider verified the e-mail and the password (and TOTP, when on) of the account is given',
        body: z.strictObject({
          code: z.string().min(20).max(100),
          password: z.string().min(1).max(1024),
          ...secondFactor,
          session: sessionMode,
        }),
        response: { 200: session },
      },
    },
    async (request, reply) => {
      const signedIn = await linkWithPassword(
        s,
        actorOf(request),
        request.ip,
        request.body.code,
        readBinding(request),
        request.body,
      );
      if (request.body.session === 'cookie') await attachRefreshCookie(s, reply, signedIn.familyId);
      return { token: signedIn.token, expiresAt: signedIn.expiresAt };
    },
  );

  app.get(
    '/api/auth/oidc/identities',
    {
      schema: {
        tags: ['auth'],
        summary: 'The sign-in providers linked to your account',
        response: {
          200: z.object({
            identities: z.array(linkedIdentity),
          }),
        },
      },
    },
    async (request) => {
      const me = await s.auth.session(request);
      return { identities: await listIdentities(s, me.userId) };
    },
  );

  app.delete(
    '/api/auth/oidc/identities/:id',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Unlink a sign-in provider from your account: the current password, and TOTP or a recovery code when on, required',
        params: z.object({ id: z.uuid() }),
        body: z.strictObject({ password: z.string().min(1).max(1024), ...secondFactor }),
        response: { 200: okBody },
      },
    },
    async (request) => {
      const me = await s.auth.session(request);
      const { password, totp, recoveryCode } = request.body;
      // Re-authentication (account actions): an account without a password is refused (password_required), so
      // the last way to sign in of a provider-only account can never be unlinked here.
      const { email } = await reauthenticate(s, actorOf(request), request.ip, me.userId, {
        password,
        totp,
        recoveryCode,
      });
      const provider = await unlinkIdentity(s, me.userId, email, request.params.id);
      await auditAccountEvent(s, me.userId, actorOf(request), 'auth.oidc_unlinked', {
        provider: provider.name,
      });
      return { ok: true as const };
    },
  );

  registerOidcProviderRoutes(app, s, clients);
}
