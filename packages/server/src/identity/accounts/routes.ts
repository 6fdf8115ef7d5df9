import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { hashSecret } from '../../platform/hash.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import { ipLimitKey, isLimiterRejection, take } from '../../platform/ratelimit.js';
import { requireBotCheck } from '../botcheck.js';
import type { IdentityServices } from '../services.js';
import { listAccountEvents } from './events.js';
import { login } from './login.js';
import { changePassword } from './password.js';
import { revokeFamily } from './refresh.js';
import { registerRefreshRoutes } from './refresh-routes.js';
import { requestPasswordReset, resetPassword } from './reset.js';
import { attachRefreshCookie } from './session-issue.js';
import { logout, logoutEverywhere } from './sessions.js';
import { signup } from './signup.js';
import { confirmTotp, enrollTotp } from './totp.js';

const email = z.email().max(254);
// Length limits here are only a DoS guard; the password policy gives the precise message.
const password = z.string().min(1).max(1024);
const botToken = z.string().max(2048).optional();
const tags = ['identity'];
/**
 * Dashboard opt-in: also set the HttpOnly refresh cookie (Path=/api/auth/session), so the sign-in survives a
 * reload; the JSON still carries the 15-minute session JWT. Scripts leave it out and get the JWT only.
 */
const sessionMode = z.literal('cookie').optional();

export function registerIdentityRoutes(app: App, s: IdentityServices): void {
  registerRefreshRoutes(app, s);
  const signupIp = s.limiters.create('signup:ip', s.config.RAMPART_SIGNUP_PER_IP_PER_HOUR, 3600);
  const forgotIp = s.limiters.create('forgot:ip', s.config.RAMPART_FORGOT_PER_IP_PER_HOUR, 3600);
  // Per address: at most 3 reset mails an hour. Over that, nothing is sent, and the answer is still 202.
  const forgotEmail = s.limiters.create('forgot:email', 3, 3600);
  const bot = (token: string | undefined, ip: string) =>
    requireBotCheck(
      {
        secret: s.config.RAMPART_TURNSTILE_SECRET,
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

  app.post(
    '/api/auth/forgot-password',
    {
      schema: {
        tags,
        summary: 'Email a reset link if the account exists (always 202)',
        body: z.strictObject({ email, botToken }),
        response: { 202: okBody },
      },
    },
    async (request, reply) => {
      await take(forgotIp, ipLimitKey(request.ip), 'Too many reset requests from this address');
      await bot(request.body.botToken, request.ip);
      // Answer before doing any account-specific work: the response time must not reveal whether it exists.
      const actor = actorOf(request);
      const emailKey = hashSecret('account-email', request.body.email.trim().toLowerCase());
      setImmediate(() => {
        forgotEmail
          .consume(emailKey, 1)
          .then(() => requestPasswordReset(s, actor, request.body.email))
          .catch((err: unknown) => {
            if (!isLimiterRejection(err)) throw err;
          })
          .catch((err: unknown) => s.logger.error({ err }, 'password reset request failed'));
      });
      return reply.code(202).send({ ok: true as const });
    },
  );

  app.post(
    '/api/auth/reset-password',
    {
      schema: {
        tags,
        summary:
          'Set a new password with a reset token (single use); logs out every session and returns a new one (none with 2FA)',
        body: z.strictObject({ token: z.string().min(20).max(200), password, session: sessionMode }),
        response: {
          200: z.object({
            ok: z.literal(true),
            token: z.string().optional(),
            expiresAt: z.string().optional(),
            claimed: z.boolean(),
          }),
        },
      },
    },
    async (request, reply) => {
      const r = await resetPassword(s, actorOf(request), request.body.token, request.body.password);
      if (r.familyId && request.body.session === 'cookie') await attachRefreshCookie(s, reply, r.familyId);
      return {
        ok: true as const,
        claimed: r.claimed,
        ...(r.token ? { token: r.token, expiresAt: r.expiresAt } : {}),
      };
    },
  );

  app.post(
    '/api/auth/change-password',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Change the password (current one, and TOTP or a recovery code when on, required); other sessions are logged out',
        body: z.strictObject({
          currentPassword: password,
          newPassword: password,
          totp: z.string().max(16).optional(),
          recoveryCode: z.string().max(64).optional(),
          session: sessionMode,
        }),
        response: { 200: z.object({ token: z.string(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      const p = await s.auth.session(request);
      const r = await changePassword(
        s,
        actorOf(request),
        request.ip,
        p.userId,
        p.amr,
        request.body.currentPassword,
        request.body.newPassword,
        { totp: request.body.totp, recoveryCode: request.body.recoveryCode },
      );
      if (request.body.session === 'cookie') await attachRefreshCookie(s, reply, r.familyId);
      return { token: r.token, expiresAt: r.expiresAt };
    },
  );

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

  app.post(
    '/api/auth/totp/enroll',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Start TOTP enrolment (secret shown once); the current password is required',
        body: z.strictObject({ password }),
        response: { 200: z.object({ secret: z.string(), otpauthUrl: z.string() }) },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      return enrollTotp(s, actorOf(request), request.ip, p.userId, p.email, request.body.password);
    },
  );

  app.post(
    '/api/auth/totp/confirm',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Confirm TOTP with a first code; returns 10 recovery codes once',
        body: z.strictObject({ code: z.string().min(1).max(16) }),
        response: { 200: z.object({ recoveryCodes: z.array(z.string()).length(10) }) },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      return confirmTotp(s, actorOf(request), p.userId, request.body.code);
    },
  );

  app.get(
    '/api/me/events',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          "The signed-in user's own account events (sign-ins, failures, 2FA, CLI devices), newest first; cursor paging",
        querystring: z.strictObject({
          cursor: z
            .string()
            .regex(/^\d{1,18}$/)
            .optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: {
          200: z.object({
            events: z.array(
              z.object({
                seq: z.number(),
                at: z.string(),
                action: z.string(),
                target: z.string().nullable(),
                ip: z.string().nullable(),
                userAgent: z.string().nullable(),
                meta: z.record(z.string(), z.unknown()),
              }),
            ),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      const { cursor, limit } = request.query;
      return listAccountEvents(s.db, p.userId, {
        before: cursor === undefined ? undefined : Number(cursor),
        limit,
      });
    },
  );

  app.get(
    '/api/me',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'The signed-in user and their orgs',
        response: {
          200: z.object({
            userId: z.uuid(),
            email: z.string(),
            orgs: z.array(z.object({ orgId: z.uuid(), name: z.string(), role: z.string() })),
            totpEnabled: z.boolean(),
            isOperator: z.boolean(),
            emailVerified: z.boolean(),
          }),
        },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      const { rows } = await s.db.tx({ orgId: null, userId: p.userId }, (q) =>
        q.query<{ org_id: string; name: string; role: string }>(
          `SELECT m.org_id, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
            WHERE m.user_id = $1 ORDER BY o.name, m.org_id`,
          [p.userId],
        ),
      );
      return {
        userId: p.userId,
        email: p.email,
        orgs: rows.map((r) => ({ orgId: r.org_id, name: r.name, role: r.role })),
        totpEnabled: p.totpEnabled,
        isOperator: p.isOperator,
        emailVerified: p.emailVerified,
      };
    },
  );
}
