import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { hashSecret } from '../../platform/hash.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import { ipLimitKey, isLimiterRejection, take } from '../../platform/ratelimit.js';
import type { IdentityServices } from '../services.js';
import { changePassword } from './password.js';
import { requestPasswordReset, resetPassword } from './reset.js';
import { type BotCheck, botToken, email, password, sessionMode, tags } from './schemas.js';
import { attachRefreshCookie } from './session-issue.js';

/** Forgotten password (mailed reset link), the reset itself, and a signed-in password change. */
export function registerPasswordRoutes(app: App, s: IdentityServices, bot: BotCheck): void {
  const forgotIp = s.limiters.create('forgot:ip', s.config.RAMPART_FORGOT_PER_IP_PER_HOUR, 3600);
  // Per address: at most 3 reset mails an hour. Over that, nothing is sent, and the answer is still 202.
  const forgotEmail = s.limiters.create('forgot:email', 3, 3600);

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
}
