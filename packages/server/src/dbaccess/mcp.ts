import { createHash } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyPrincipal } from '../identity/principal.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer } from '../platform/params.js';
import { getConnectionRow, listConnections } from './connections.js';
import { type Executor, runAudited } from './execute.js';
import {
  declaredModel,
  initializeClient,
  type McpClient,
  mcpClientOf,
  readMcpSession,
  signMcpSession,
} from './query-audit.js';
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

/**
 * The name of a table's typed tool: `query_<schema>_<table>` cut to leave room for a 10-hex-digit hash of the
 * (schema, table) pair, so the name fits MCP's 64 characters and no two tables share one (`a.b_c` and `a_b.c`, or
 * two long names with one prefix, used to collide and make the MCP library throw). Both parts must be safe
 * identifiers (callers check), so the name holds only [A-Za-z0-9_].
 */
export function tableToolName(schema: string, table: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([schema, table]))
    .digest('hex')
    .slice(0, 10);
  return `query_${`${schema}_${table}`.slice(0, 64 - 'query_'.length - 11)}_${hash}`;
}

/**
 * Per-table typed tools for a pinned connection, from schema metadata: only tables whose schema and name are
 * safe identifiers, only their columns that are (names reach the model as text, in descriptions and enums, and
 * a column named like an instruction must not), and at most `max` tables. A table that still fails to register
 * is skipped, never the whole server.
 */
export function tableTools(
  rows: ReadonlyArray<readonly unknown[]>,
  max: number,
): Array<{ name: string; schema: string; table: string; columns: string[] }> {
  const tables = new Map<string, { schema: string; table: string; columns: string[] }>();
  for (const [sch, name, column] of rows) {
    const schema = String(sch);
    const table = String(name);
    if (!IDENT.test(schema) || !IDENT.test(table)) continue;
    const id = JSON.stringify([schema, table]);
    const t = tables.get(id) ?? { schema, table, columns: [] };
    if (IDENT.test(String(column))) t.columns.push(String(column));
    tables.set(id, t);
  }
  return [...tables.values()]
    .filter((t) => t.columns.length > 0)
    .slice(0, max)
    .map((t) => ({ name: tableToolName(t.schema, t.table), ...t }));
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
  client: McpClient | null,
): Promise<McpServer> {
  const server = new McpServer({ name: 'rampart-dbaccess', version: '0.1.0' });
  const orgId = key.orgId;

  const withConnection = async (
    connectionId: string,
    tool: string,
    params: readonly unknown[],
    fn: (run: Executor['run']) => Promise<SandboxResult>,
  ) => {
    const row = await s.db.org(orgId, (q) => getConnectionRow(q, orgId, connectionId));
    return runAudited(
      s,
      request,
      { orgId, apiKeyId: key.keyId, userId: key.createdBy },
      row,
      rawKey,
      { tool, declaredModel: declaredModel(request), client, params },
      fn,
    );
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
  // One table, named by schema and name; without a schema the name must be in exactly one schema (two tables
  // `zzz.customers` and `public.customers` used to be merged into one column list).
  const tableMeta = async (run: Executor['run'], table: string, schema: string | undefined) => {
    const cols = await run(
      `SELECT table_schema, column_name, data_type FROM information_schema.columns
        WHERE table_name = $1 AND ($2::text IS NULL OR table_schema = $2)
          AND table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY table_schema, ordinal_position`,
      [table, schema ?? null],
    );
    if (cols.rowCount === 0) throw new AppError('not_found', 'No such table');
    const schemas = [...new Set(cols.rows.map((r) => String(r[0])))];
    if (schemas.length > 1)
      throw new AppError(
        'validation_failed',
        `Table ${table} exists in several schemas (${schemas.join(', ').slice(0, 300)}): name one with schema`,
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
        const r = await withConnection(connectionId, 'list_tables', [], (run) =>
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
      description:
        'Columns and types of one table (schema metadata only, never rows). Give schema when the table name is in more than one schema.',
      inputSchema: {
        connectionId: z.uuid(),
        schema: z.string().regex(IDENT).optional(),
        table: z.string().regex(IDENT),
      },
    },
    ({ connectionId, schema, table }) =>
      guarded(async () => {
        const r = await withConnection(
          connectionId,
          'describe_table',
          schema === undefined ? [table] : [schema, table],
          (run) => tableMeta(run, table, schema),
        );
        return r.rows.map(([schema, column, type]) => ({ schema, column, type }));
      }),
  );

  server.registerTool(
    'query_table',
    {
      description:
        'Typed query on one table: columns, filters (eq, ne, lt, lte, gt, gte, like, ilike), ordering and a limit, compiled to parameterised SQL and run in the read-only sandbox. Give schema when the table name is in more than one schema.',
      inputSchema: {
        connectionId: z.uuid(),
        schema: z.string().regex(IDENT).optional(),
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
          (args.filters ?? []).map((f) => f.value),
          async (run) => {
            const meta = await tableMeta(run, args.table, args.schema);
            const compiled = compileTableQuery(
              {
                schema: String(meta.rows[0]?.[0]),
                name: args.table,
                columns: meta.rows.map((m) => String(m[1])),
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
        const r = await withConnection(connectionId, 'run_select', params, (run) => run(sql, params));
        return { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
      }),
  );
  // With `x-rampart-connection`, one typed tool per table of that connection, generated from its schema
  // (names and types only): columns, filter columns and order columns are enums of the table's real columns.
  const pinned = String(request.headers['x-rampart-connection'] ?? '');
  if (/^[0-9a-f-]{36}$/i.test(pinned)) {
    const schema = await withConnection(pinned, 'schema', [], (run) =>
      run(
        `SELECT table_schema, table_name, column_name FROM information_schema.columns
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, ordinal_position`,
        [],
      ),
    ).catch(() => null);
    for (const { name: toolName, schema: tableSchema, table, columns } of tableTools(
      schema?.rows ?? [],
      MAX_TABLE_TOOLS,
    )) {
      const t = { schema: tableSchema, name: table, columns };
      const cols = z.enum(columns as [string, ...string[]]);
      let described = '';
      for (const c of columns) {
        if (described.length + c.length > 500) break;
        described += described ? `, ${c}` : c;
      }
      try {
        server.registerTool(
          toolName,
          {
            description: `Query ${tableSchema}.${table} (columns: ${described}), read-only.`,
            inputSchema: {
              columns: z.array(cols).max(100).optional(),
              filters: z
                .array(
                  z.object({
                    column: cols,
                    op: z.enum(Object.keys(OPS) as [keyof typeof OPS]),
                    value: scalar,
                  }),
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
              const r = await withConnection(
                pinned,
                toolName,
                (args.filters ?? []).map((f) => f.value),
                (run) => {
                  const compiled = compileTableQuery(t, args);
                  return run(compiled.sql, compiled.params);
                },
              );
              return { columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated };
            }),
        );
      } catch (err) {
        // One table the library will not take must not take the endpoint down with it.
        request.log.warn({ err, tool: toolName }, 'skipped a per-table MCP tool');
      }
    }
  }
  return server;
}

const sessionHeader = (request: FastifyRequest): string | undefined => {
  const v = request.headers['mcp-session-id'];
  return typeof v === 'string' ? v : undefined;
};

/** `/mcp`: the Model Context Protocol over Streamable HTTP (stateless, JSON responses), authenticated by API key. */
export function registerMcpRoutes(app: App, s: DbAccessServices): void {
  app.post(
    '/mcp',
    {
      schema: {
        tags: ['dbaccess'],
        security: bearer,
        summary:
          "MCP (Streamable HTTP, stateless, JSON-RPC body) with an API key: database tools for the key's org. The initialize answer carries a signed Mcp-Session-Id naming the client (clientInfo) for the query audit; x-ai-model is recorded as the declared model; x-mcp-client-name / x-mcp-client-version name the end client behind a bridge",
      },
    },
    async (request, reply) => {
      const key = await s.auth.apiKey(request, 'db.query');
      const rawKey = (request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      // Stateless, every POST stands alone (any node can answer it). The initialize is answered with a signed
      // session id carrying the client's name and version, which the client sends back on every later request;
      // those are served without session state (no generator), reading the client from that id.
      const hello = initializeClient(request.body);
      const handshake = hello ?? readMcpSession(s.jwtKeys, key.keyId, sessionHeader(request));
      const server = await buildServer(s, request, key, rawKey, mcpClientOf(request, handshake));
      const transport = new StreamableHTTPServerTransport(
        hello
          ? {
              enableJsonResponse: true,
              sessionIdGenerator: () => signMcpSession(s.jwtKeys, key.keyId, hello),
            }
          : { enableJsonResponse: true },
      );
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
