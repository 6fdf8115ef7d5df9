import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { getConnectionRow, listConnections } from './connections.js';
import { type Executor, runAudited } from './execute.js';
import type { SandboxResult } from './sandbox.js';
import type { DbAccessServices } from './services.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const MAX_TABLE_TOOLS = 200;
const OPS = {
  eq: '=',
  ne: '<>',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
  like: 'LIKE',
  ilike: 'ILIKE',
} as const;
const scalar = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

/**
 * Compiles a typed table query to one parameterised SELECT. Identifiers are checked against the table's real
 * columns (read from information_schema) and quoted; values are always parameters. The result still goes
 * through the sandbox like any other query.
 */
export function compileTableQuery(
  table: { schema: string; name: string; columns: readonly string[] },
  q: {
    columns?: string[] | undefined;
    filters?: Array<{ column: string; op: keyof typeof OPS; value: z.infer<typeof scalar> }> | undefined;
    orderBy?: Array<{ column: string; direction?: 'asc' | 'desc' | undefined }> | undefined;
    limit: number;
  },
): { sql: string; params: unknown[] } {
  const known = new Set(table.columns);
  const col = (c: string) => {
    if (!known.has(c))
      throw new AppError('validation_failed', `unknown column ${JSON.stringify(c).slice(0, 80)}`);
    return `"${c.replaceAll('"', '""')}"`;
  };
  const params: unknown[] = [];
  const select = q.columns?.length ? q.columns.map(col).join(', ') : '*';
  const where = (q.filters ?? []).map((f) => {
    params.push(f.value);
    return `${col(f.column)} ${OPS[f.op]} $${params.length}`;
  });
  const order = (q.orderBy ?? []).map((o) => `${col(o.column)} ${o.direction === 'desc' ? 'DESC' : 'ASC'}`);
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const sql = [
    `SELECT ${select} FROM ${quote(table.schema)}.${quote(table.name)}`,
    where.length ? `WHERE ${where.join(' AND ')}` : '',
    order.length ? `ORDER BY ${order.join(', ')}` : '',
    `LIMIT ${Math.max(1, Math.min(1000, Math.floor(q.limit)))}`,
  ]
    .filter(Boolean)
    .join(' ');
  return { sql, params };
}

const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });

/**
 * The MCP server for one request (stateless Streamable HTTP): tools scoped to the API key's org, each one
 * sandboxed and audited like `POST …/connections/:id/query`. Tools come from schema metadata only (table and
 * column names and types), never row data.
 */
async function buildServer(
  s: DbAccessServices,
  request: FastifyRequest,
  key: ApiKeyPrincipal,
  rawKey: string,
): Promise<McpServer> {
  const server = new McpServer({ name: 'rampart-dbaccess', version: '0.1.0' });
  const orgId = key.orgId;

  const withConnection = async (
    connectionId: string,
    tool: string,
    params: number,
    fn: (run: Executor['run']) => Promise<SandboxResult>,
  ) => {
    const row = await s.db.org(orgId, (q) => getConnectionRow(q, orgId, connectionId));
    const client = server.server.getClientVersion();
    // Stateless: the client's initialize (with its name) came in an earlier request, so the model comes from
    // x-ai-model when the client sends it, else from this request's client info if any.
    const model =
      String(request.headers['x-ai-model'] ?? '').slice(0, 200) ||
      (client ? `${client.name}/${client.version}`.slice(0, 200) : null);
    return runAudited(s, request, { orgId, apiKeyId: key.keyId }, row, rawKey, { tool, model, params }, fn);
  };
  const guarded = async (fn: () => Promise<unknown>) => {
    try {
      return text(await fn());
    } catch (err) {
      if (err instanceof AppError)
        return { ...text({ error: err.code, message: err.message }), isError: true };
      throw err;
    }
  };
  const tableMeta = async (run: Executor['run'], table: string) => {
    const cols = await run(
      `SELECT table_schema, column_name, data_type FROM information_schema.columns
        WHERE table_name = $1 AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY ordinal_position`,
      [table],
    );
    return cols;
  };

  server.registerTool(
    'list_connections',
    { description: 'The database connections of this org (names and modes; never connection strings).' },
    () => guarded(async () => s.db.org(orgId, (q) => listConnections(q, orgId))),
  );

  server.registerTool(
    'list_tables',
    {
      description: 'Tables visible to the connection (schema and name only).',
      inputSchema: { connectionId: z.uuid() },
    },
    ({ connectionId }) =>
      guarded(async () => {
        const r = await withConnection(connectionId, 'list_tables', 0, (run) =>
          run(
            `SELECT table_schema, table_name FROM information_schema.tables
              WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
            [],
          ),
        );
        return r.rows.map(([schema, name]) => ({ schema, name }));
      }),
  );

  server.registerTool(
    'describe_table',
    {
      description: 'Columns and types of one table (schema metadata only, never rows).',
      inputSchema: { connectionId: z.uuid(), table: z.string().regex(IDENT) },
    },
    ({ connectionId, table }) =>
      guarded(async () => {
        const r = await withConnection(connectionId, 'describe_table', 1, (run) => tableMeta(run, table));
        if (r.rowCount === 0) throw new AppError('not_found', 'No such table');
        return r.rows.map(([schema, column, type]) => ({ schema, column, type }));
      }),
  );

  server.registerTool(
    'query_table',
    {
      description:
        'Typed query on one table: columns, filters (eq, ne, lt, lte, gt, gte, like, ilike), ordering and a limit, compiled to parameterised SQL and run in the read-only sandbox.',
      inputSchema: {
        connectionId: z.uuid(),
        table: z.string().regex(IDENT),
        columns: z.array(z.string().regex(IDENT)).max(100).optional(),
        filters: z
          .array(
            z.object({
              column: z.string().regex(IDENT),
              op: z.enum(Object.keys(OPS) as [keyof typeof OPS]),
              value: scalar,
            }),
          )
          .max(20)
          .optional(),
        orderBy: z
          .array(z.object({ column: z.string().regex(IDENT), direction: z.enum(['asc', 'desc']).optional() }))
          .max(5)
          .optional(),
        limit: z.number().int().min(1).max(1000).default(100),
      },
    },
    (args) =>
      guarded(async () => {
        const r = await withConnection(
          args.connectionId,
          'query_table',
          args.filters?.length ?? 0,
          async (run) => {
            const meta = await tableMeta(run, args.table);
            if (meta.rowCount === 0) throw new AppError('not_found', 'No such table');
            const schema = String(meta.rows[0]?.[0]);
            const compiled = compileTableQuery(
              {
                schema,
                name: args.table,
                columns: meta.rows.filter((m) => m[0] === schema).map((m) => String(m[1])),
              },
              args,
            );
            return run(compiled.sql, compiled.params);
          },
        );
        return { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
      }),
  );

  server.registerTool(
    'run_select',
    {
      description:
        'Run one read-only SELECT (parameters as $1, $2...). Anything else is refused with the reason.',
      inputSchema: {
        connectionId: z.uuid(),
        sql: z.string().min(1).max(100_000),
        params: z.array(scalar).max(100).default([]),
      },
    },
    ({ connectionId, sql, params }) =>
      guarded(async () => {
        const r = await withConnection(connectionId, 'run_select', params.length, (run) => run(sql, params));
        return { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
      }),
  );
  // With `x-rampart-connection`, one typed tool per table of that connection, generated from its schema
  // (names and types only): columns, filter columns and order columns are enums of the table's real columns.
  const pinned = String(request.headers['x-rampart-connection'] ?? '');
  if (/^[0-9a-f-]{36}$/i.test(pinned)) {
    const schema = await withConnection(pinned, 'schema', 0, (run) =>
      run(
        `SELECT table_schema, table_name, column_name FROM information_schema.columns
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, ordinal_position`,
        [],
      ),
    ).catch(() => null);
    const tables = new Map<string, { schema: string; name: string; columns: string[] }>();
    for (const [sch, name, column] of schema?.rows ?? []) {
      const id = `${sch}.${name}`;
      const t = tables.get(id) ?? { schema: String(sch), name: String(name), columns: [] };
      t.columns.push(String(column));
      tables.set(id, t);
    }
    for (const t of [...tables.values()].slice(0, MAX_TABLE_TOOLS)) {
      if (!IDENT.test(t.schema) || !IDENT.test(t.name) || t.columns.length === 0) continue;
      const cols = z.enum(t.columns as [string, ...string[]]);
      const toolName = `query_${t.schema}_${t.name}`.slice(0, 64);
      server.registerTool(
        toolName,
        {
          description: `Query ${t.schema}.${t.name} (columns: ${t.columns.join(', ').slice(0, 500)}), read-only.`,
          inputSchema: {
            columns: z.array(cols).max(100).optional(),
            filters: z
              .array(
                z.object({ column: cols, op: z.enum(Object.keys(OPS) as [keyof typeof OPS]), value: scalar }),
              )
              .max(20)
              .optional(),
            orderBy: z
              .array(z.object({ column: cols, direction: z.enum(['asc', 'desc']).optional() }))
              .max(5)
              .optional(),
            limit: z.number().int().min(1).max(1000).default(100),
          },
        },
        (args) =>
          guarded(async () => {
            const r = await withConnection(pinned, toolName, args.filters?.length ?? 0, (run) => {
              const compiled = compileTableQuery(t, args);
              return run(compiled.sql, compiled.params);
            });
            return { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
          }),
      );
    }
  }
  return server;
}

/** `/mcp`: the Model Context Protocol over Streamable HTTP (stateless, JSON responses), authenticated by API key. */
export function registerMcpRoutes(app: App, s: DbAccessServices): void {
  app.post(
    '/mcp',
    {
      schema: {
        tags: ['dbaccess'],
        security: [{ bearer: [] }],
        summary:
          "MCP (Streamable HTTP, stateless, JSON-RPC body) with an API key: database tools for the key's org; x-ai-model names the model for the query audit",
      },
    },
    async (request, reply) => {
      const key = await s.auth.apiKey(request, 'db.query');
      const rawKey = (request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      const server = await buildServer(s, request, key, rawKey);
      // No session id generator: stateless, every POST stands alone (any node can answer it).
      const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    },
  );
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '/mcp',
      schema: { hide: true },
      handler: async (_request, reply) =>
        reply
          .code(405)
          .header('allow', 'POST')
          .send({ error: 'not_found', message: 'This MCP endpoint is stateless: POST only' }),
    });
  }
}
