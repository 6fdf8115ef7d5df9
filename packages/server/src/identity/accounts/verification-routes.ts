import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import { take } from '../../platform/ratelimit.js';
import type { IdentityServices } from '../services.js';
import { isEmailVerified, queueVerificationMail, verifyEmail } from './verification.js';

/** `POST /api/auth/verify-email` (the mailed token, by a session of the same account) and `.../resend` (session). */
export function registerVerificationRoutes(app: App, s: IdentityServices): void {
  // Per account: at most 3 verification mails an hour (the sign-up mail is not counted).
  const resendUser: RateLimiterAbstract = s.limiters.create('verify:user', 3, 3600);

  app.post(
    '/api/auth/verify-email',
    {
      schema: {
        tags: ['identity'],
        security: bearer,
        summary:
          'Confirm the e-mail address with the mailed token (single use, 24 hours), signed in as the account it was sent for',
        body: z.strictObject({ token: z.string().min(20).max(200) }),
        response: { 200: okBody },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      await verifyEmail(s, actorOf(request), request.body.token, p.userId);
      return { ok: true as const };
    },
  );

  app.post(
    '/api/auth/verify-email/resend',
    {
      schema: {
        tags: ['identity'],
        security: bearer,
        summary: 'Send a new confirmation link to the signed-in account (3 an hour)',
        response: { 202: okBody },
      },
    },
    async (request, reply) => {
      const p = await s.auth.session(request);
      if (await isEmailVerified(s, p.userId))
        throw new AppError('conflict', 'This e-mail address is already confirmed');
      await take(resendUser, p.userId, 'Too many confirmation mails');
      await s.db.platform((q) => queueVerificationMail(s, q, p.userId, p.email));
      return reply.code(202).send({ ok: true as const });
    },
  );
}
