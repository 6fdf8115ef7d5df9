import { z } from 'zod';
import { actorOf } from '../../platform/actor.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody } from '../../platform/params.js';
import { take } from '../../platform/ratelimit.js';
import type { IdentityServices } from '../services.js';
import { confirmEmailChange, requestEmailChange } from './email-change.js';
import { deleteAccount } from './erasure.js';
import { disableTotp, regenerateRecoveryCodes } from './totp-actions.js';

const tags = ['identity'];
/** Re-authentication fields of every account action: the current password, and TOTP (or a recovery code) when on. */
const reauth = {
  password: z.string().min(1).max(1024),
  totp: z.string().max(16).optional(),
  recoveryCode: z.string().max(64).optional(),
};
const reauthOf = (b: { password: string; totp?: string | undefined; recoveryCode?: string | undefined }) => ({
  password: b.password,
  totp: b.totp,
  recoveryCode: b.recoveryCode,
});

/** The account page's actions (docs/SECURITY-CONTROLS.md "Account actions"). */
export function registerAccountRoutes(app: App, s: IdentityServices): void {
  // Each request mails the address it names: at most 5 an hour per account, on top of the re-authentication.
  const emailChanges = s.limiters.create('email-change:user', 5, 3600);

  app.post(
    '/api/me/email',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Change the e-mail address: mails a confirmation link (24 h, single use) to the new address; always 202',
        body: z.strictObject({ ...reauth, newEmail: z.email().max(254) }),
        response: { 202: okBody },
      },
    },
    async (request, reply) => {
      const p = await s.auth.session(request);
      await take(emailChanges, p.userId, 'Too many e-mail changes; try later');
      await requestEmailChange(
        s,
        actorOf(request),
        request.ip,
        p.userId,
        reauthOf(request.body),
        request.body.newEmail,
      );
      return reply.code(202).send({ ok: true as const });
    },
  );

  app.post(
    '/api/auth/confirm-email-change',
    {
      schema: {
        tags,
        summary:
          'Confirm an e-mail change with the token from the link; ends every session (sign in with the new address)',
        body: z.strictObject({ token: z.string().min(20).max(200) }),
        response: { 200: z.object({ ok: z.literal(true), email: z.string() }) },
      },
    },
    async (request) => {
      const r = await confirmEmailChange(s, actorOf(request), request.body.token);
      return { ok: true as const, email: r.email };
    },
  );

  app.post(
    '/api/me/totp/disable',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Turn two-factor authentication off (password and a TOTP or recovery code required)',
        body: z.strictObject(reauth),
        response: { 200: okBody },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      await disableTotp(s, actorOf(request), request.ip, p.userId, reauthOf(request.body));
      return { ok: true as const };
    },
  );

  app.post(
    '/api/me/recovery-codes',
    {
      schema: {
        tags,
        security: bearer,
        summary: 'Issue 10 new recovery codes (shown once); the old ones stop working',
        body: z.strictObject(reauth),
        response: { 200: z.object({ recoveryCodes: z.array(z.string()).length(10) }) },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      return regenerateRecoveryCodes(s, actorOf(request), request.ip, p.userId, reauthOf(request.body));
    },
  );

  app.delete(
    '/api/me',
    {
      schema: {
        tags,
        security: bearer,
        summary:
          'Delete my account (GDPR erasure); refused while the only owner of an org with other members, or a member of a suspended org. `confirm` is the account e-mail',
        body: z.strictObject({ ...reauth, confirm: z.string().min(1).max(254) }),
        response: { 200: z.object({ ok: z.literal(true), deletedOrgIds: z.array(z.uuid()) }) },
      },
    },
    async (request) => {
      const p = await s.auth.session(request);
      const r = await deleteAccount(
        s,
        actorOf(request),
        request.ip,
        p.userId,
        reauthOf(request.body),
        request.body.confirm,
      );
      return { ok: true as const, deletedOrgIds: r.deletedOrgIds };
    },
  );
}
