import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { enqueueMail } from '../mail/outbox.js';
import { actorOf } from '../platform/actor.js';
import { AppError } from '../platform/errors.js';
import { hashSecret } from '../platform/hash.js';
import type { App } from '../platform/http.js';
import { ipLimitKey, take } from '../platform/ratelimit.js';
import { reauthenticate } from './account-actions.js';
import { auditAccountEvent, consumeRecoveryCode, consumeTotp, loadUser, login } from './accounts.js';
import {
  BINDING_COOKIE,
  consumeResult,
  finishSignIn,
  GOOGLE_ISSUER,
  issuerProblem,
  linkIdentity,
  listProviders,
  OidcClients,
  OidcRefusal,
  type OidcServices,
  pendingResult,
  providerByName,
  redirectUri,
  saveProvider,
  startSignIn,
} from './oidc.js';
import { attachRefreshCookie, issueSession } from './session-issue.js';

const providerName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a-z, 0-9 and "-", at most 32');
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

/** A session for the signed-in user; with `reply` (the dashboard asked for session "cookie"), the refresh cookie. */
async function issue(s: OidcServices, userId: string, totp: boolean, reply: FastifyReply | undefined) {
  const user = await loadUser(s, 'id', userId);
  if (!user) throw new AppError('invalid_credentials', 'This account no longer exists');
  const r = await issueSession(s, { userId, generation: user.token_generation, totp }, reply);
  return { token: r.token, expiresAt: r.expiresAt };
}
/** Dashboard opt-in to the HttpOnly refresh cookie (see routes.ts). */
const sessionMode = z.literal('cookie').optional();

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
          200: z.object({ providers: z.array(z.object({ name: z.string(), displayName: z.string() })) }),
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
        if (!request.body.password)
          throw new AppError('validation_failed', 'Linking a sign-in provider needs your current password', {
            details: { issues: [{ in: 'body', path: '/password', message: 'required to link' }] },
          });
        const email = await s.db.platform(async (q) => {
          const r = await q.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [me.userId]);
          return r.rows[0]?.email;
        });
        if (!email) throw new AppError('unauthorized', 'This account no longer exists');
        // The account's own sign-in check: throttle, second factor, audit of failures.
        await login(s, actorOf(request), request.ip, {
          email,
          password: request.body.password,
          totp: request.body.totp,
          recoveryCode: request.body.recoveryCode,
        });
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
      const result = await pendingResult(s, request.body.code, readBinding(request));
      if (result.outcome === 'link_required') return { linkRequired: true as const, email: result.email };
      const user = result.user_id ? await loadUser(s, 'id', result.user_id) : undefined;
      if (!user) throw new AppError('invalid_credentials', 'This account no longer exists');
      // The identity must still be linked to that account: a result held (up to 2 minutes) across an unlink or a
      // password reset, which drops every link (the claim of a squatted account), must not sign anyone in.
      const linked = await s.db.platform((q) =>
        q.query('SELECT 1 FROM oidc_identities WHERE provider_id = $1 AND subject = $2 AND user_id = $3', [
          result.provider_id,
          result.subject,
          user.id,
        ]),
      );
      if (linked.rowCount === 0)
        throw new AppError('invalid_credentials', 'This sign-in is no longer valid; start again');
      const key = hashSecret('oidc-user', user.id);
      const release = await s.throttle.enter(key, request.ip);
      try {
        await s.throttle.check(key, request.ip);
        let totp = false;
        if (user.totp_enabled) {
          const { totp: code, recoveryCode } = request.body;
          if (!code && !recoveryCode)
            throw new AppError('totp_required', 'Enter the code from your authenticator app');
          const ok = code
            ? await consumeTotp(s, user, code)
            : await consumeRecoveryCode(s, user.id, recoveryCode ?? '');
          if (!ok) {
            await s.throttle.failure(key, request.ip);
            await auditAccountEvent(s, user.id, actorOf(request), 'auth.login_failed', {
              reason: 'second_factor',
              method: 'oidc',
            });
            throw new AppError('invalid_credentials', 'The code is not valid');
          }
          totp = true;
        }
        await consumeResult(s, result.id);
        await s.throttle.success(key, request.ip);
        await s.db.platform((q) =>
          q.query(
            'UPDATE oidc_identities SET last_login_at = now() WHERE provider_id = $1 AND subject = $2',
            [result.provider_id, result.subject],
          ),
        );
        await auditAccountEvent(s, user.id, { ...actorOf(request), userId: user.id }, 'auth.login', {
          method: 'oidc',
          amr: totp ? ['oidc', 'otp'] : ['oidc'],
        });
        return issue(s, user.id, totp, request.body.session === 'cookie' ? reply : undefined);
      } finally {
        await release();
      }
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
      const result = await pendingResult(s, request.body.code, readBinding(request));
      if (result.outcome !== 'link_required' || !result.email)
        throw new AppError('invalid_credentials', 'This sign-in has nothing to link; start again');
      if (!result.email_verified)
        throw new AppError(
          'forbidden',
          'The provider did not verify this e-mail address, so it cannot be linked',
        );
      // The account's own sign-in, with its throttle, second factor and audit: proof of control.
      const signedIn = await login(s, actorOf(request), request.ip, {
        email: result.email,
        password: request.body.password,
        totp: request.body.totp,
        recoveryCode: request.body.recoveryCode,
      });
      const user = await loadUser(s, 'email', result.email);
      if (!user) throw new AppError('invalid_credentials', 'This account no longer exists');
      await consumeResult(s, result.id);
      const provider = await s.db.platform(async (q) => {
        const r = await q.query<{ name: string }>('SELECT name FROM oidc_providers WHERE id = $1', [
          result.provider_id,
        ]);
        return r.rows[0];
      });
      const row = provider ? await s.db.platform((q) => providerByName(q, provider.name)) : undefined;
      if (!row) throw new AppError('invalid_credentials', 'The sign-in provider was removed');
      try {
        await linkIdentity(s, actorOf(request), row, result.subject, result.email, user.id);
      } catch (err) {
        if (err instanceof OidcRefusal) throw new AppError('conflict', err.message);
        throw err;
      }
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
            identities: z.array(
              z.object({
                id: z.uuid(),
                provider: z.string(),
                displayName: z.string(),
                email: z.string().nullable(),
                createdAt: z.string(),
                lastLoginAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const me = await s.auth.session(request);
      const { rows } = await s.db.platform((q) =>
        q.query<{
          id: string;
          name: string;
          display_name: string;
          email: string | null;
          created_at: Date;
          last_login_at: Date | null;
        }>(
          `SELECT i.id, p.name, p.display_name, i.email, i.created_at, i.last_login_at
             FROM oidc_identities i JOIN oidc_providers p ON p.id = i.provider_id
            WHERE i.user_id = $1 ORDER BY i.created_at`,
          [me.userId],
        ),
      );
      return {
        identities: rows.map((r) => ({
          id: r.id,
          provider: r.name,
          displayName: r.display_name,
          email: r.email,
          createdAt: r.created_at.toISOString(),
          lastLoginAt: r.last_login_at?.toISOString() ?? null,
        })),
      };
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
        response: { 200: z.object({ ok: z.literal(true) }) },
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
      const provider = await s.db.platform(async (q) => {
        const del = await q.query<{ name: string; display_name: string }>(
          `DELETE FROM oidc_identities i USING oidc_providers p
            WHERE i.id = $1 AND i.user_id = $2 AND p.id = i.provider_id RETURNING p.name, p.display_name`,
          [request.params.id, me.userId],
        );
        const row = del.rows[0];
        if (!row) throw new AppError('not_found', 'No such linked sign-in');
        await enqueueMail(q, s.ring, {
          to: email,
          userId: me.userId,
          template: {
            kind: 'security_notice',
            event: 'provider_unlinked',
            at: new Date().toISOString(),
            detail: row.display_name,
          },
        });
        return row;
      });
      await auditAccountEvent(s, me.userId, actorOf(request), 'auth.oidc_unlinked', {
        provider: provider.name,
      });
      return { ok: true as const };
    },
  );

  // ---- operators: provider configuration ----
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
        response: { 200: z.object({ ok: z.literal(true) }) },
      },
    },
    async (request) => {
      await s.auth.requireOperator(request);
      const del = await s.db.platform((q) =>
        q.query('DELETE FROM oidc_providers WHERE name = $1', [request.params.name]),
      );
      if (del.rowCount === 0) throw new AppError('not_found', 'No such sign-in provider');
      clients.forget();
      return { ok: true as const };
    },
  );
}
