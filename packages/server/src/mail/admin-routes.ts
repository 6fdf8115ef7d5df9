import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import type { App } from '../platform/http.js';
import { bearer } from '../platform/params.js';
import { listMail } from './admin.js';

const record = z.object({
  id: z.uuid(),
  kind: z.string(),
  status: z.enum(['queued', 'sending', 'sent', 'failed']),
  attempts: z.number(),
  toMasked: z.string(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  sentAt: z.string().nullable(),
  failedAt: z.string().nullable(),
  orgId: z.uuid().nullable(),
});

/**
 * Platform operators: the mail outbox's delivery records, so failed mail is visible (docs/OPERATIONS.md "Mail").
 * Never the message, its links or the full recipient: those stay sealed and are dropped after delivery.
 */
export function registerMailAdminRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/admin/mail',
    {
      schema: {
        tags: ['admin'],
        security: bearer,
        summary: 'Mail delivery records (operators): failed, queued or sent, newest first',
        querystring: z.strictObject({
          status: z.enum(['queued', 'sent', 'failed']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({
            counts: z.object({
              queued: z.number(),
              sending: z.number(),
              sent: z.number(),
              failed: z.number(),
            }),
            mails: z.array(record),
          }),
        },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const result = await listMail(s.db, request.query);
      await s.db.platform((q) =>
        appendAudit(q, actorOf(request, { userId: op.userId }), {
          orgId: null,
          action: 'operator.mail_listed',
          meta: { status: request.query.status ?? 'all', count: result.mails.length },
        }),
      );
      return result;
    },
  );
}
