import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import type { App } from '../../platform/http.js';
import { bearer } from '../../platform/params.js';
import type { IdentityServices } from '../services.js';
import { password, tags } from './schemas.js';
import { confirmTotp, enrollTotp } from './totp.js';

/** TOTP enrolment of the signed-in user (the current password first), confirmed by a first code. */
export function registerTotpRoutes(app: App, s: IdentityServices): void {
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
}
