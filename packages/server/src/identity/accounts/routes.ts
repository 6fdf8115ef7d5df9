import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import { ipLimitKey, take } from '../../platform/ratelimit.js';
import { requireBotCheck } from '../botcheck.js';
import type { IdentityServices } from '../services.js';
import { login } from './login.js';
import { registerMeRoutes } from './me-routes.js';
import { registerPasswordRoutes } from './password-routes.js';
import { revokeFamily } from './refresh.js';
import { registerRefreshRoutes } from './refresh-routes.js';
import { type BotCheck, botToken, email, password, sessionMode, tags } from './schemas.js';
import { attachRefreshCookie } from './session-issue.js';
import { logout, logoutEverywhere } from './sessions.js';
import { signup } from './signup.js';
import { registerTotpRoutes } from './totp-routes.js';

export function registerIdentityRoutes(app: App, s: IdentityServices): void {
  registerRefreshRoutes(app, s);
  const signupIp = s.limiters.create('signup:ip', s.config.RAMPART_SIGNUP_PER_IP_PER_HOUR, 3600);
  const bot: BotCheck = (token, ip) =>
    requireBotCheck(
      {
        secret: s.settings.current().RAMPART_TURNSTILE_SECRET,
        verifyUrl: s.config.RAMPART_TURNSTILE_VERIFY_URL,
        timeoutMs: s.config.RAMPART_TURNSTILE_TIMEOUT_MS,
      },
      token,
      ip,
    );

  app.post(
    '/api/auth/signup',
    {
      schema: {
        tags,
        summary: 'Create an account and its first org',
        body: z.strictObject({
          email,
          password,
          orgName: z.string().trim().min(1).max(200),
          botToken,
          session: sessionMode,
        }),
        response: { 201: z.object({ userId: z.uuid(), orgId: z.uuid(), token: z.string() }) },
      },
    },
    async (request, reply) => {
      await take(signupIp, ipLimitKey(request.ip), 'Too many sign-ups from this address');
      await bot(request.body.botToken, request.ip);
      const r = await signup(s, actorOf(request), request.body);
      if (request.body.session === 'cookie') await attachRefreshCookie(s, reply, r.familyId);
      return reply.code(201).send({ userId: r.userId, orgId: r.orgId, token: r.token });
    },
  );

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags,
        summary:
          'Sign in; returns a 15-minute session JWT (with session "cookie", the dashboard also gets the refresh cookie)',
        body: z.strictObject({
          email,
          password,
          totp: z.string().max(16).optional(),
          recoveryCode: z.string().max(64).optional(),
          botToken,
          session: sessionMode,
        }),
        response: { 200: z.object({ token: z.string(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      await bot(request.body.botToken, request.ip);
      const r = await login(s, actorOf(request), request.ip, request.body);
      if (request.body.session === 'cookie') await attachRefreshCookie(s, reply, r.familyId);
      return { token: r.token, expiresAt: r.expiresAt };
    },
  );

  registerPasswordRoutes(app, s, bot);

  app.post(
    '/api/auth/logout',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke this session and its sign-in (the refresh cookie of that sign-in stops working too)',
        response: { 200: okBody },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      if (p.familyId) await revokeFamily(s, p.familyId);
      await logout(s, actorOf(request), p.userId, p.jti, p.exp);
      return { ok: true as const };
    },
  );

  app.post(
    '/api/auth/logout-all',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke every session of this user',
        response: { 200: okBody },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      await logoutEverywhere(s, actorOf(request), p.userId);
      return { ok: true as const };
    },
  );

  registerTotpRoutes(app, s);
  registerMeRoutes(app, s);
}
