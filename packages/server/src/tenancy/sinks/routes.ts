import { z } from 'zod';
import type { IdentityServices } from '../../identity/services.js';
import { actorOf } from '../../platform/actor.js';
import { AppError } from '../../platform/errors.js';
import type { App } from '../../platform/http.js';
import { bearer, okBody, orgItemParams, orgParams } from '../../platform/params.js';
import type { OutboundServices } from '../../platform/services.js';
import { createSink, deleteSink, getSink, listSinks } from './store.js';

/** Sinks per org: each one is a delivery loop and a copy of the whole log. */
export const MAX_SINKS_PER_ORG = 10;

const name = z.string().trim().min(1).max(100);
const sinkBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('https'),
    name,
    config: z.strictObject({ url: z.string().max(2000), secret: z.string().max(200).optional() }),
  }),
  z.strictObject({
    kind: z.literal('syslog'),
    name,
    config: z.strictObject({
      host: z.string().min(1).max(253),
      port: z.number().int().min(1).max(65535).optional(),
      clientCert: z.string().max(20_000).optional(),
      clientKey: z.string().max(20_000).optional(),
    }),
  }),
]);

export const sinkView = z.object({
  id: z.uuid(),
  kind: z.enum(['https', 'syslog']),
  name: z.string(),
  config: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  status: z.object({
    cursorSeq: z.number(),
    headSeq: z.number(),
    lag: z.number(),
    attempts: z.number(),
    lastSuccessAt: z.string().nullable(),
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
    nextAttemptAt: z.string(),
    anchoredAt: z.string().nullable(),
  }),
});

export function registerAuditSinkRoutes(app: App, s: IdentityServices & OutboundServices): void {
  app.post(
    '/api/orgs/:orgId/audit-sinks',
    {
      config: { orgAction: 'audit.sinks' },
      schema: {
        tags: ['audit'],
        security: bearer,
        summary:
          "Stream the org's audit log to an HTTPS endpoint (NDJSON batches signed as Standard Webhooks) or a syslog receiver over TLS. An https sink without a secret gets a generated whsec_ secret, returned once as `secret`.",
        params: orgParams,
        body: sinkBody,
        response: { 201: sinkView.extend({ secret: z.string().optional() }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const { view, revealedSecret } = await s.db.org(access.orgId, async (q) => {
        const { rows } = await q.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM audit_sinks WHERE org_id = $1',
          [access.orgId],
        );
        if ((rows[0]?.n ?? 0) >= MAX_SINKS_PER_ORG)
          throw new AppError('quota_exceeded', `An org has at most ${MAX_SINKS_PER_ORG} audit sinks`);
        return createSink(q, s.ring, s.outboundPolicy, actorOf(request), access.orgId, request.body);
      });
      return reply.code(201).send(revealedSecret ? { ...view, secret: revealedSecret } : view);
    },
  );

  app.get(
    '/api/orgs/:orgId/audit-sinks',
    {
      config: { orgAction: 'audit.sinks' },
      schema: {
        tags: ['audit'],
        security: bearer,
        summary: "The org's audit sinks with their delivery lag (secrets masked)",
        params: orgParams,
        response: { 200: z.object({ sinks: z.array(sinkView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { sinks: await s.db.org(access.orgId, (q) => listSinks(q, access.orgId)) };
    },
  );

  app.get(
    '/api/orgs/:orgId/audit-sinks/:id',
    {
      config: { orgAction: 'audit.sinks' },
      schema: { tags: ['audit'], security: bearer, params: orgItemParams, response: { 200: sinkView } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return s.db.org(access.orgId, (q) => getSink(q, access.orgId, request.params.id));
    },
  );

  app.delete(
    '/api/orgs/:orgId/audit-sinks/:id',
    {
      config: { orgAction: 'audit.sinks' },
      schema: { tags: ['audit'], security: bearer, params: orgItemParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) => deleteSink(q, actorOf(request), access.orgId, request.params.id));
      return { ok: true as const };
    },
  );
}
