import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { actorOf } from '../platform/actor.js';
import { appendAudit } from '../platform/audit/append.js';
import type { App } from '../platform/http.js';
import { bearer } from '../platform/params.js';
import { getNotice, listNotices, noticeInput, sendNotice } from './notices.js';

/** A notice's delivery status, counted from its outbox rows. */
const status = z.object({ queued: z.number(), sent: z.number(), failed: z.number(), expired: z.number() });
/** One notice as listed (GET /api/admin/notices). */
export const noticeView = z.object({
  noticeId: z.uuid(),
  subject: z.string(),
  createdAt: z.string(),
  createdBy: z.uuid().nullable(),
  createdByEmail: z.string().nullable(),
  allOrgs: z.boolean(),
  orgs: z.number(),
  recipients: z.number(),
  status,
});

/** One notice with its text and the delivery status per org (GET /api/admin/notices/:noticeId). */
export const noticeDetailView = noticeView.extend({
  body: z.string(),
  perOrg: z.array(
    z.object({
      orgId: z.uuid(),
      name: z.string(),
      recipients: z.number(),
      queued: z.number(),
      sent: z.number(),
      failed: z.number(),
    }),
  ),
});

/**
 * Platform operators: incident notices to every owner and admin of chosen orgs (docs/OPERATIONS.md "Incident
 * notices"). Sending is audited in each org's chain and on the platform chain; reading is audited on the
 * platform chain.
 */
export function registerNoticeRoutes(app: App, s: IdentityServices): void {
  app.post(
    '/api/admin/notices',
    {
      schema: {
        tags: ['admin'],
        security: bearer,
        summary: 'Mail an incident notice to every owner and admin of the chosen orgs (operators)',
        body: noticeInput,
        response: {
          201: z.object({ noticeId: z.uuid(), orgs: z.number(), recipients: z.number() }),
        },
      },
    },
    async (request, reply) => {
      const op = await s.auth.requireOperator(request);
      const sent = await sendNotice(s.db, s.ring, actorOf(request, { userId: op.userId }), request.body);
      return reply.code(201).send(sent);
    },
  );

  app.get(
    '/api/admin/notices',
    {
      schema: {
        tags: ['admin'],
        security: bearer,
        summary: 'Incident notices, newest first, with their delivery status (operators)',
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: { 200: z.object({ notices: z.array(noticeView) }) },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const notices = await listNotices(s.db, { limit: request.query.limit });
      await s.db.platform((q) =>
        appendAudit(q, actorOf(request, { userId: op.userId }), {
          orgId: null,
          action: 'operator.notices_listed',
          meta: { count: notices.length },
        }),
      );
      return { notices };
    },
  );

  app.get(
    '/api/admin/notices/:noticeId',
    {
      schema: {
        tags: ['admin'],
        security: bearer,
        summary: 'One incident notice: its text and the delivery status per org (operators)',
        params: z.object({ noticeId: z.uuid() }),
        response: {
          200: z.object({
            notice: noticeDetailView,
          }),
        },
      },
    },
    async (request) => {
      const op = await s.auth.requireOperator(request);
      const n = await getNotice(s.db, request.params.noticeId);
      await s.db.platform((q) =>
        appendAudit(q, actorOf(request, { userId: op.userId }), {
          orgId: null,
          action: 'operator.notice_viewed',
          target: `notice:${n.noticeId}`,
        }),
      );
      return { notice: n };
    },
  );
}
