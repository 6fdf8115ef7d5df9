import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { z } from 'zod';
import { loadRouting } from '../gateway/route-cache.js';
import { orgSuspended } from '../identity/authenticate.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { newId } from '../platform/ids.js';
import { ipLimitKey, take } from '../platform/ratelimit.js';
import { answer } from './chat.js';
import { deleteVisitorConversation, recordExchange } from './conversations.js';
import { admitMessage, refundMessage } from './quota.js';
import type { WidgetServices } from './services.js';
import { hashIp, signVisitor, type VisitorKeys, verifyVisitor } from './visitor.js';
import { insertVisitor, type PublicWidget, recordMessage } from './visits.js';
import { getWidget } from './widgets.js';

const params = z.object({ widgetId: z.uuid() });
const SESSIONS_PER_IP_PER_MINUTE = 20;
/** The longest conversation retention (365 days) and a day: how long an expired token may still delete. */
const DELETE_GRACE_SECONDS = 366 * 86_400;

/**
 * The public widget surface, called from visitors' browsers on the customer's site. Every request must come
 * from one of the widget's allowed origins: a preflight from any other origin gets 403 and no CORS headers
 * (so the browser blocks the call), and a request with no or another `Origin` is refused with
 * `origin_not_allowed` before anything else runs. CORS headers name exactly the request's origin, never `*`,
 * and never appear on the dashboard API. Order on a message: origin, visitor token, per-IP and per-widget rate
 * limits, quota, and only then retrieval and the model call.
 *
 * Database round trips per message (a test bounds them): the widget lookup is cached per node (5 s, dropped
 * when the org's widgets change); admission, the widget row and (when not cached) the org's routing share one
 * transaction; retrieval is one; the answer, its conversation and its metadata row are one statement.
 */
export function registerWidgetPublicRoutes(app: App, s: WidgetServices, keys: VisitorKeys): void {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiter = (name: string, points: number) => {
    const key = `${name}:${points}`;
    let l = limiters.get(key);
    if (!l) {
      l = s.limiters.create(`widget:${name}:${points}`, points, 60);
      limiters.set(key, l);
    }
    return l;
  };
  // take(): the counter store down is 503, refusing rather than running unmetered model calls.
  const consume = (name: string, points: number, key: string, what: string) =>
    take(limiter(name, points), key, what);

  const lookup = (widgetId: string) => s.publicWidgets.get(s.db, widgetId);

  /** Checks `Origin` and, when allowed, sets the CORS response headers for it (errors included, so the widget can read them). */
  const checkOrigin = (request: FastifyRequest, reply: FastifyReply, w: PublicWidget): string => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (typeof origin !== 'string' || !w.allowedOrigins.includes(origin))
      throw new AppError('origin_not_allowed', 'This widget is not enabled for the requesting site');
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', 'retry-after, x-request-id');
    return origin;
  };

  /**
   * Refuses a suspended org's widget (after the origin check, so the widget on an allowed site can read the
   * answer and say the chat is unavailable). A visitor deleting their own conversation is never refused.
   * @throws AppError org_suspended
   */
  const requireActive = (w: PublicWidget): void => {
    if (w.suspended) throw orgSuspended();
  };

  /**
   * The visitor id of the request's visitor token for this widget; `graceSeconds` accepts an expired one (delete).
   * @throws AppError unauthorized
   */
  const visitorOf = (request: FastifyRequest, widgetId: string, graceSeconds = 0): string => {
    const auth = request.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const check = verifyVisitor(keys, token, widgetId, new Date(), graceSeconds);
    if (!check.ok) throw new AppError('unauthorized', 'A valid visitor session for this widget is required');
    return check.visitorId;
  };

  const preflights = [
    ['/widget/:widgetId/session', 'POST'],
    ['/widget/:widgetId/messages', 'POST'],
    ['/widget/:widgetId/conversation', 'DELETE'],
  ] as const;
  for (const [path, allowed] of preflights) {
    app.options(
      path,
      { schema: { tags: ['widget'], summary: 'CORS preflight: allowed origins only', params, hide: true } },
      async (request, reply) => {
        const w = await lookup(request.params.widgetId);
        checkOrigin(request, reply, w);
        const method = request.headers['access-control-request-method'];
        if (method !== undefined && method !== allowed)
          throw new AppError('origin_not_allowed', `Only ${allowed} is allowed here from the widget`);
        reply
          .header('access-control-allow-methods', allowed)
          .header('access-control-allow-headers', 'authorization, content-type')
          .header('access-control-max-age', '600');
        return reply.code(204).send();
      },
    );
  }

  app.post(
    '/widget/:widgetId/session',
    {
      schema: {
        tags: ['widget'],
        summary: 'Start a visitor session (public; allowed origins only)',
        params,
        response: { 200: z.object({ visitorToken: z.string(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      const w = await lookup(request.params.widgetId);
      const origin = checkOrigin(request, reply, w);
      requireActive(w);
      const ipHash = hashIp(keys, request.ip);
      await consume(
        'session-ip',
        SESSIONS_PER_IP_PER_MINUTE,
        hashIp(keys, ipLimitKey(request.ip)),
        'Too many sessions from this address',
      );
      const visitorId = newId();
      await insertVisitor(s.db, {
        id: visitorId,
        orgId: w.orgId,
        widgetId: request.params.widgetId,
        ipHash,
        origin,
      });
      const { token, expiresAt } = signVisitor(keys, request.params.widgetId, visitorId, new Date());
      return { visitorToken: token, expiresAt: expiresAt.toISOString() };
    },
  );

  app.post(
    '/widget/:widgetId/messages',
    {
      schema: {
        tags: ['widget'],
        summary: 'Send a visitor message (public; visitor token; allowed origins only)',
        params,
        body: z.strictObject({ message: z.string().trim().min(1).max(4_000) }),
        response: { 200: z.object({ reply: z.string() }) },
      },
    },
    async (request, reply) => {
      const widgetId = request.params.widgetId;
      const w = await lookup(widgetId);
      checkOrigin(request, reply, w);
      requireActive(w);
      const visitorId = visitorOf(request, widgetId);
      // Limits before any database work beyond the lookup, and before retrieval or the model.
      const ipHash = hashIp(keys, request.ip);
      await consume(
        'ip',
        w.perIp,
        `${widgetId}:${hashIp(keys, ipLimitKey(request.ip))}`,
        'Too many messages from this address',
      );
      await consume('widget', w.perWidget, widgetId, 'This widget is receiving too many messages');
      const now = new Date();
      // One transaction: admission, the widget row, and the org's routing when this node has none cached
      // (answer() then finds it in the cache).
      const { paidBy, widget, redact } = await s.db.org(w.orgId, async (q) => {
        const paidBy = await admitMessage(q, w.orgId, now);
        const widget = await getWidget(q, w.orgId, widgetId);
        const routing = await s.routing.get(w.orgId, () => loadRouting(q, w.orgId));
        return { paidBy, widget, redact: routing?.piiRedaction ?? true };
      });
      const started = performance.now();
      let out: Awaited<ReturnType<typeof answer>>;
      try {
        out = await answer(s, w.orgId, widget, request.body.message);
      } catch (err) {
        const status = err instanceof AppError ? err.status : 500;
        await s.db.org(w.orgId, (q) => refundMessage(q, w.orgId, now, paidBy)).catch(() => {});
        await recordMessage(s.db, w.orgId, widgetId, visitorId, ipHash, 0, status, started).catch(() => {});
        throw err;
      }
      // The visitor has an answer and the message was paid for: a failed bookkeeping row must not turn that
      // into an error (or a refund).
      await s.db
        .org(w.orgId, (q) =>
          recordExchange(q, s.ring, {
            orgId: w.orgId,
            widgetId,
            visitorId,
            ipHash,
            question: request.body.message,
            reply: out.reply,
            redact,
            // answer(): a chunk reached the widget's minSimilarity (or, without vectors, full text found one).
            grounded: out.grounded,
            chunks: out.chunks,
            latencyMs: Math.round(performance.now() - started),
          }),
        )
        .catch((err) => request.log.error({ err }, 'could not record a widget message'));
      return { reply: out.reply };
    },
  );

  app.delete(
    '/widget/:widgetId/conversation',
    {
      schema: {
        tags: ['widget'],
        summary:
          "Delete the visitor's own conversation: its stored messages (public; visitor token; allowed origins only)",
        params,
        response: { 200: z.object({ ok: z.literal(true), deleted: z.boolean() }) },
      },
    },
    async (request, reply) => {
      const widgetId = request.params.widgetId;
      const w = await lookup(widgetId);
      checkOrigin(request, reply, w);
      // A session's token opens its conversation for deletion as long as the conversation can exist (the longest
      // retention), not only for the session's hour: deleting is never a harm to the visitor it names.
      const visitorId = visitorOf(request, widgetId, DELETE_GRACE_SECONDS);
      await consume(
        'ip',
        w.perIp,
        `${widgetId}:${hashIp(keys, ipLimitKey(request.ip))}`,
        'Too many requests from this address',
      );
      const deleted = await s.db.org(w.orgId, (q) =>
        deleteVisitorConversation(q, w.orgId, widgetId, visitorId),
      );
      return { ok: true as const, deleted };
    },
  );
}
