import { z } from 'zod';
import { actorOf } from '../platform/actor.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgItemParams } from '../platform/params.js';
import {
  deleteConversation,
  getThread,
  listConversations,
  listUnanswered,
  messagesPerDay,
} from './conversations.js';
import type { WidgetServices } from './services.js';

const page = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().min(1).max(200).optional(),
});
export const unansweredView = z.object({
  conversationId: z.uuid(),
  messageId: z.uuid(),
  at: z.string(),
  question: z.string(),
});
export const dayView = z.object({ day: z.string(), answered: z.number(), unanswered: z.number() });
const conversationParams = orgItemParams.extend({ conversationId: z.uuid() });
export const conversationView = z.object({
  id: z.uuid(),
  visitorId: z.uuid(),
  startedAt: z.string(),
  lastMessageAt: z.string(),
  messageCount: z.number(),
  unansweredCount: z.number(),
});
export const messageView = z.object({
  id: z.uuid(),
  at: z.string(),
  question: z.string(),
  reply: z.string(),
  redacted: z.boolean(),
  grounded: z.boolean(),
});

/**
 * What visitors asked a widget, for its owners: conversations (list, thread, delete), the questions it could
 * not answer, and answered messages per day. Reads need `widgets.read`; deleting needs `widgets.write` and is
 * audited. Message text is opened from its seals only for a thread or the unanswered list.
 */
export function registerConversationRoutes(app: App, s: WidgetServices): void {
  app.get(
    '/api/orgs/:orgId/widgets/:id/conversations',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary: "A widget's visitor conversations, the most recently active first (paged by cursor)",
        params: orgItemParams,
        querystring: page,
        response: {
          200: z.object({ conversations: z.array(conversationView), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) =>
        listConversations(q, access.orgId, request.params.id, request.query),
      );
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets/:id/conversations/:conversationId',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary: 'One conversation with its messages (questions and answers), oldest first',
        params: conversationParams,
        response: { 200: conversationView.extend({ messages: z.array(messageView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const { id, conversationId } = request.params;
      return s.db.org(access.orgId, (q) => getThread(q, s.ring, access.orgId, id, conversationId));
    },
  );

  app.delete(
    '/api/orgs/:orgId/widgets/:id/conversations/:conversationId',
    {
      config: { orgAction: 'widgets.write' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary: 'Delete a conversation and its messages (audited)',
        params: conversationParams,
        response: { 200: okBody },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      const { id, conversationId } = request.params;
      await s.db.org(access.orgId, (q) =>
        deleteConversation(q, actorOf(request), access.orgId, id, conversationId),
      );
      return { ok: true as const };
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets/:id/unanswered',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary:
          'Questions the widget could not answer (no knowledge chunk matched), newest first (paged by cursor)',
        params: orgItemParams,
        querystring: page,
        response: {
          200: z.object({
            questions: z.array(unansweredView),
            nextCursor: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) =>
        listUnanswered(q, s.ring, access.orgId, request.params.id, request.query),
      );
    },
  );

  app.get(
    '/api/orgs/:orgId/widgets/:id/message-stats',
    {
      config: { orgAction: 'widgets.read' },
      schema: {
        tags: ['widget'],
        security: bearer,
        summary: 'Answered and unanswered messages per UTC day, the last 30 days (today last)',
        params: orgItemParams,
        response: {
          200: z.object({
            days: z.array(dayView),
          }),
        },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return {
        days: await s.db.org(access.orgId, (q) =>
          messagesPerDay(q, access.orgId, request.params.id, new Date()),
        ),
      };
    },
  );
}
