import { Readable } from 'node:stream';
import { z } from 'zod';
import type { IdentityServices } from '../identity/services.js';
import { csvHeader, csvLine, iterateAudit, ndjsonLine, readAuditPage } from '../platform/audit/export.js';
import { verifyChain } from '../platform/audit/verify.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';

const query = z.strictObject({
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.]{0,99}$/)
    .optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  format: z.enum(['json', 'csv', 'ndjson']).default('json'),
});

export const entry = z.object({
  id: z.uuid(),
  seq: z.number(),
  at: z.string(),
  orgId: z.string().nullable(),
  userId: z.string().nullable(),
  apiKeyId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  meta: z.record(z.string(), z.unknown()),
  hash: z.string(),
});

export function registerAuditRoutes(app: App, s: IdentityServices): void {
  app.get(
    '/api/orgs/:orgId/audit',
    {
      config: { orgAction: 'audit.read', apiKeyScope: 'audit.read' },
      schema: {
        tags: ['audit'],
        security: bearer,
        summary:
          'Audit log: filters, cursor pagination (json), or a streamed export (csv, ndjson); a member session or an API key with the audit.read scope',
        params: orgParams,
        querystring: query,
        response: { 200: z.object({ entries: z.array(entry), nextCursor: z.string().nullable() }) },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrgOrKey(request);
      const qy = request.query;
      const filter = {
        ...(qy.action ? { action: qy.action } : {}),
        ...(qy.since ? { since: new Date(qy.since) } : {}),
        ...(qy.until ? { until: new Date(qy.until) } : {}),
        ...(qy.cursor ? { afterSeq: Number(qy.cursor) } : {}),
      };
      if (qy.format !== 'json') {
        // Streamed a page at a time: constant memory for any log size.
        const csv = qy.format === 'csv';
        async function* lines() {
          if (csv) yield csvHeader();
          for await (const e of iterateAudit(s.db, access.orgId, filter))
            yield csv ? csvLine(e) : ndjsonLine(e);
        }
        reply
          .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
          .header('content-disposition', `attachment; filename="audit-${access.orgId}.${qy.format}"`);
        // Streams bypass the response serializer, so the JSON schema above does not apply to exports.
        return reply.send(Readable.from(lines()) as never);
      }
      const entries = await readAuditPage(s.db, access.orgId, filter, qy.limit);
      const last = entries.at(-1);
      return { entries, nextCursor: entries.length === qy.limit && last ? String(last.seq) : null };
    },
  );

  app.get(
    '/api/orgs/:orgId/audit/verify',
    {
      config: { orgAction: 'audit.read', apiKeyScope: 'audit.read' },
      schema: {
        tags: ['audit'],
        security: bearer,
        summary: "Recompute the org's hash chain (a member session or an API key with the audit.read scope)",
        params: orgParams,
        response: {
          200: z.object({
            ok: z.boolean(),
            count: z.number(),
            head: z.string(),
            problem: z.object({ seq: z.number(), reason: z.string() }).optional(),
          }),
        },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrgOrKey(request);
      return s.db.org(access.orgId, (q) => verifyChain(q, access.orgId));
    },
  );
}
