import { Readable } from 'node:stream';
import { z } from 'zod';
import { requireScope } from '../identity/authenticate.js';
import { actorOf } from '../platform/actor.js';
import { type AuditEntry, csvField, iterateAudit, readAuditPage } from '../platform/audit/export.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer, okBody, orgItemParams, orgParams } from '../platform/params.js';
import { createConnection, deleteConnection, getConnectionRow, listConnections } from './connections.js';
import { runAudited } from './execute.js';
import { declaredModel } from './query-audit.js';
import type { DbAccessServices } from './services.js';

const envelope = z.strictObject({
  v: z.literal(1),
  ciphertext: z.string().min(24).max(20_000),
  salt: z.string().min(16).max(64),
  iv: z.string().min(12).max(64),
  kdf: z.strictObject({
    name: z.literal('PBKDF2'),
    hash: z.literal('SHA-256'),
    iterations: z.number().int().min(600_000).max(10_000_000),
  }),
});
export const connectionView = z.object({
  id: z.uuid(),
  name: z.string(),
  mode: z.enum(['cloud', 'agent']),
  createdAt: z.string(),
  agentToken: z.string().optional().describe('agent connections, on creation only: shown once'),
});
const param = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
const QUERY_AUDIT = 'db.query';
const AUDIT_FIELDS = [
  'seq',
  'at',
  'userId',
  'apiKeyId',
  'declaredModel',
  'clientName',
  'clientVersion',
  'clientVia',
  'tool',
  'connectionId',
  'params',
  'paramValues',
  'rowCount',
  'queryHash',
  'durationMs',
  'outcome',
] as const;

/**
 * One query-audit row (never rows of data): the audit entry with the fields its meta records, each null if
 * absent. `userId` is the API key's creator. Rows written before the declared model was labelled as such
 * recorded it as `model`; before parameter values were recorded, `paramValues` is null.
 */
export function queryAuditRow(e: AuditEntry) {
  const m = (e.meta ?? {}) as Partial<Record<string, unknown>>;
  const str = (v: unknown) => (v ?? null) as string | null;
  const num = (v: unknown) => (v ?? null) as number | null;
  return {
    seq: e.seq,
    at: e.at,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    declaredModel: str(m.declaredModel ?? m.model),
    clientName: str(m.clientName),
    clientVersion: str(m.clientVersion),
    clientVia: str(m.clientVia),
    tool: str(m.tool),
    connectionId: str(m.connectionId),
    params: num(m.params),
    paramValues: (Array.isArray(m.paramValues) ? m.paramValues : null) as Array<
      string | number | boolean | null
    > | null,
    rowCount: num(m.rowCount),
    queryHash: str(m.queryHash),
    durationMs: num(m.durationMs),
    outcome: str(m.outcome),
  };
}

/** Cloud-mode database connections, sandboxed queries with the sealing API key, and the query audit. */
export function registerDbAccessRoutes(app: App, s: DbAccessServices): void {
  app.post(
    '/api/orgs/:orgId/connections',
    {
      config: { orgAction: 'dbaccess.manage' },
      schema: {
        tags: ['dbaccess'],
        security: bearer,
        summary:
          'Register a database connection; for cloud mode, `sealed` is the client-side envelope (rampart seal-connection): the server stores ciphertext only',
        params: orgParams,
        body: z.strictObject({
          name: z.string().trim().min(1).max(100),
          mode: z.enum(['cloud', 'agent']),
          sealed: envelope.optional(),
        }),
        response: { 201: connectionView },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const v = await s.db.org(access.orgId, (q) =>
        createConnection(q, actorOf(request), access.orgId, request.body),
      );
      return reply.code(201).send(v);
    },
  );

  app.get(
    '/api/orgs/:orgId/connections',
    {
      config: { orgAction: 'dbaccess.read' },
      schema: {
        tags: ['dbaccess'],
        security: bearer,
        params: orgParams,
        response: { 200: z.object({ connections: z.array(connectionView) }) },
      },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      return { connections: await s.db.org(access.orgId, (q) => listConnections(q, access.orgId)) };
    },
  );

  app.delete(
    '/api/orgs/:orgId/connections/:id',
    {
      config: { orgAction: 'dbaccess.manage' },
      schema: { tags: ['dbaccess'], security: bearer, params: orgItemParams, response: { 200: okBody } },
    },
    async (request) => {
      const access = await s.auth.requireOrg(request);
      await s.db.org(access.orgId, (q) =>
        deleteConnection(q, actorOf(request), access.orgId, request.params.id),
      );
      return { ok: true as const };
    },
  );

  app.post(
    '/api/orgs/:orgId/connections/:id/query',
    {
      // The handler checks the key itself (the org, then the scope): only the sealing key opens the connection.
      config: { orgAction: 'dbaccess.query', apiKeyScope: 'db.query' },
      schema: {
        tags: ['dbaccess'],
        security: bearer,
        summary:
          'Run one read-only SELECT on a cloud connection. Authenticate with the API key the connection was sealed under (it derives the decryption key); x-ai-model declares the model for the query audit (recorded as declaredModel, with the key creator as userId and the parameters PII-redacted).',
        params: orgItemParams,
        body: z.strictObject({
          sql: z.string().min(1).max(100_000),
          params: z.array(param).max(100).default([]),
        }),
        response: {
          200: z.object({
            columns: z.array(z.string()),
            rows: z.array(z.array(z.unknown())),
            rowCount: z.number(),
            truncated: z.boolean(),
          }),
        },
      },
    },
    async (request) => {
      const principal = await s.auth.principal(request);
      const orgId = request.params.orgId;
      if (principal.kind !== 'api_key') {
        // A session can hold the permission but not the key the connection string is sealed under.
        await s.auth.requireOrg(request);
        throw new AppError(
          'unauthorized',
          'Querying a cloud connection needs the API key it was sealed with',
        );
      }
      if (principal.orgId !== orgId) throw new AppError('not_found', 'Connection not found');
      requireScope(principal, 'db.query');
      const rawKey = (request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      const row = await s.db.org(orgId, (q) => getConnectionRow(q, orgId, request.params.id));
      const r = await runAudited(
        s,
        request,
        { orgId, apiKeyId: principal.keyId, userId: principal.createdBy },
        row,
        rawKey,
        {
          tool: 'run_select',
          declaredModel: declaredModel(request),
          client: null,
          params: request.body.params,
        },
        (run) => run(request.body.sql, request.body.params),
      );
      return { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
    },
  );

  app.get(
    '/api/orgs/:orgId/query-audit',
    {
      config: { orgAction: 'audit.read', apiKeyScope: 'audit.read' },
      schema: {
        tags: ['dbaccess'],
        security: bearer,
        summary:
          'The query audit (never rows; parameters PII-redacted, each cut to 256 characters; userId is the API key creator): json pages (cursor, limit; order=desc for newest first), or streamed csv / ndjson for SIEMs. Hash-chained with the org audit log.',
        params: orgParams,
        querystring: z.strictObject({
          format: z.enum(['json', 'csv', 'ndjson']).default('json'),
          cursor: z
            .string()
            .regex(/^\d{1,18}$/)
            .optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
          order: z.enum(['asc', 'desc']).default('asc'),
        }),
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrgOrKey(request);
      const { format, cursor, limit, order } = request.query;
      const filter = {
        action: QUERY_AUDIT,
        ...(order === 'desc' ? { newestFirst: true } : {}),
        ...(cursor ? (order === 'desc' ? { beforeSeq: Number(cursor) } : { afterSeq: Number(cursor) }) : {}),
      };
      if (format === 'json') {
        // One page at a time, like the org audit: never the whole log in memory.
        const page = await readAuditPage(s.db, access.orgId, filter, limit);
        const last = page.at(-1);
        return {
          entries: page.map(queryAuditRow),
          nextCursor: page.length === limit && last ? String(last.seq) : null,
        };
      }
      // Streamed a page at a time: constant memory for any log size.
      async function* lines() {
        if (format === 'csv') yield `${AUDIT_FIELDS.join(',')}\r\n`;
        for await (const a of iterateAudit(s.db, access.orgId, filter)) {
          const e = queryAuditRow(a);
          yield format === 'csv'
            ? `${AUDIT_FIELDS.map((f) => csvField(e[f])).join(',')}\r\n`
            : `${JSON.stringify(e)}\n`;
        }
      }
      reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="query-audit-${access.orgId}.${format}"`);
      return reply.send(Readable.from(lines()) as never);
    },
  );
}
