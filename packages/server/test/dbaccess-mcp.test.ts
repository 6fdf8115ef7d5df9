/**
 * The MCP endpoint through the SDK's own client (Streamable HTTP) against a cloud connection on real
 * PostgreSQL: tools from schema metadata, typed table queries compiled to parameterised SQL, run_select in the
 * sandbox, refusals as tool errors, and every call in the query audit with the declared model and the client.
 */

import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sealConnection } from '@rampart/core/connseal';
import { type Account, api, signup } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTableQuery, tableToolName } from '../src/dbaccess/mcp.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';
import { startTestServer } from './helpers.js';

const BASE = process.env.TEST_DATABASE_URL;
type Srv = Awaited<ReturnType<typeof startTestServer>>;

const payload = (r: unknown) =>
  JSON.parse((r as { content: Array<{ text: string }> }).content[0]?.text ?? 'null');

describe('typed table queries compile to parameterised SQL', () => {
  const table = { schema: 'public', name: 'customers', columns: ['id', 'email', 'spend'] };
  it('quotes identifiers, parameterises values, caps the limit', () => {
    expect(
      compileTableQuery(table, {
        columns: ['id', 'email'],
        filters: [
          { column: 'spend', op: 'gte', value: 100 },
          { column: 'email', op: 'ilike', value: "%'; DROP TABLE x; --" },
        ],
        orderBy: [{ column: 'spend', direction: 'desc' }],
        limit: 5000,
      }),
    ).toEqual({
      sql: 'SELECT "id", "email" FROM "public"."customers" WHERE "spend" >= $1 AND "email" ILIKE $2 ORDER BY "spend" DESC LIMIT 1000',
      params: [100, "%'; DROP TABLE x; --"],
    });
  });
  it('refuses columns the table does not have', () => {
    expect(() => compileTableQuery(table, { columns: ['password'], limit: 1 })).toThrow(/unknown column/);
  });
});

describe.skipIf(!BASE)('MCP over Streamable HTTP (postgres)', () => {
  let customer: ReaderDatabase;
  let srv: Srv;
  let owner: Account;
  let apiKey: string;
  let connectionId: string;
  let client: Client;

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    srv = await startTestServer('postgres', { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    apiKey = (await a.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'mcp' })).body.key;
    const created = await a.post<{ id: string }>(`/api/orgs/${owner.orgId}/connections`, {
      name: 'warehouse',
      mode: 'cloud',
      sealed: await sealConnection(apiKey, customer.readerUrl),
    });
    connectionId = created.body.id;
    client = new Client({ name: 'test-assistant', version: '1.2.3' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${srv.baseUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${apiKey}`, 'x-ai-model': 'claude-test' } },
      }),
    );
  });
  afterAll(async () => {
    await client?.close();
    await srv?.close();
    await customer?.close();
  });

  it('lists the tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'describe_table',
      'list_connections',
      'list_tables',
      'query_table',
      'run_select',
    ]);
  });

  it('describes the schema from metadata and queries a table with typed filters', async () => {
    expect(payload(await client.callTool({ name: 'list_connections', arguments: {} }))).toEqual([
      expect.objectContaining({ id: connectionId, name: 'warehouse', mode: 'cloud' }),
    ]);
    expect(payload(await client.callTool({ name: 'list_tables', arguments: { connectionId } }))).toEqual([
      { schema: 'public', name: 'customers' },
    ]);
    const cols = payload(
      await client.callTool({ name: 'describe_table', arguments: { connectionId, table: 'customers' } }),
    );
    expect(cols.map((c: { column: string }) => c.column)).toEqual(['id', 'email', 'spend']);
    const rows = payload(
      await client.callTool({
        name: 'query_table',
        arguments: {
          connectionId,
          table: 'customers',
          columns: ['id', 'email'],
          filters: [{ column: 'spend', op: 'gte', value: 480 }],
          orderBy: [{ column: 'id', direction: 'desc' }],
          limit: 2,
        },
      }),
    );
    expect(rows).toMatchObject({
      columns: ['id', 'email'],
      rows: [
        [50, 'c50@example.com'],
        [49, 'c49@example.com'],
      ],
    });
  });

  it('run_select runs a SELECT and refuses anything else as a tool error with the reason', async () => {
    const ok = payload(
      await client.callTool({
        name: 'run_select',
        arguments: { connectionId, sql: 'SELECT count(*) AS n FROM customers' },
      }),
    );
    expect(ok.rows).toEqual([['50']]);
    const refused = await client.callTool({
      name: 'run_select',
      arguments: { connectionId, sql: "SELECT * FROM pg_read_file('/etc/passwd')" },
    });
    expect(refused.isError).toBe(true);
    expect(payload(refused)).toMatchObject({
      error: 'query_not_allowed',
      message: expect.stringMatching(/pg_read_file/),
    });
    const n = await customer.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    expect(n.rows[0]?.n).toBe(50);
  });

  it('run_select refuses attribute notation (x.pg_sleep, ($1::text).current_setting, x.setseed) as a tool error', async () => {
    for (const [sql, params] of [
      ['SELECT x.pg_sleep FROM generate_series(10,10) x', []],
      ['SELECT ($1::text).current_setting', ['server_version']],
      ['SELECT x.setseed FROM generate_series(1,1) x', []],
    ] as Array<[string, unknown[]]>) {
      const r = await client.callTool({ name: 'run_select', arguments: { connectionId, sql, params } });
      expect(r.isError, sql).toBe(true);
      expect(payload(r)).toMatchObject({
        error: 'query_not_allowed',
        message: expect.stringMatching(/function (pg_sleep|current_setting|setseed)/),
      });
    }
  });

  it('every tool call on a connection is in the query audit, with the model named by the client, never rows', async () => {
    const audit = await api(srv.baseUrl, owner.token).get<{ entries: Array<Record<string, unknown>> }>(
      `/api/orgs/${owner.orgId}/query-audit`,
    );
    const tools = audit.body.entries.map((e) => e.tool);
    expect(tools).toEqual(
      expect.arrayContaining(['list_tables', 'describe_table', 'query_table', 'run_select']),
    );
    expect(audit.body.entries.every((e) => e.declaredModel === 'claude-test')).toBe(true);
    expect(audit.body.entries.every((e) => e.clientName === 'test-assistant')).toBe(true);
    expect(audit.text).not.toContain('c50@example.com');
  });

  it('refuses without an API key, and with a session token', async () => {
    const bare = await fetch(`${srv.baseUrl}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(bare.status).toBe(401);
    const session = await fetch(`${srv.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${owner.token}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(session.status).toBe(401);
  });

  it('`rampart mcp` serves the same tools over stdio, with a default connection', async () => {
    const stdio = new Client({ name: 'desktop-client', version: '1.0.0' });
    await stdio.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url)),
          'mcp',
          '--connection',
          connectionId,
          '--model',
          'stdio-model',
        ],
        env: {
          ...(process.env as Record<string, string>),
          RAMPART_SERVER: srv.baseUrl,
          RAMPART_API_KEY: apiKey,
        },
        stderr: 'pipe',
      }),
    );
    try {
      const { tools } = await stdio.listTools();
      expect(tools.map((t) => t.name)).toContain('query_table');
      // Pinned to a connection: one typed tool per table, its columns as enums.
      const perTable = tools.find((t) => t.name === tableToolName('public', 'customers'));
      expect(JSON.stringify(perTable?.inputSchema)).toContain('"enum":["id","email","spend"]');
      const typed = payload(
        await stdio.callTool({
          name: tableToolName('public', 'customers'),
          arguments: {
            columns: ['email'],
            filters: [{ column: 'id', op: 'lte', value: 2 }],
            orderBy: [{ column: 'id' }],
          },
        }),
      );
      expect(typed.rows).toEqual([['c1@example.com'], ['c2@example.com']]);
      const badColumn = await stdio.callTool({
        name: tableToolName('public', 'customers'),
        arguments: { columns: ['password'] },
      });
      expect(badColumn.isError).toBe(true);
      const r = payload(
        await stdio.callTool({
          name: 'run_select',
          arguments: { sql: 'SELECT max(id) AS m FROM customers' },
        }),
      );
      expect(r.rows).toEqual([[50]]);
      const audit = await api(srv.baseUrl, owner.token).get<{ entries: Array<Record<string, unknown>> }>(
        `/api/orgs/${owner.orgId}/query-audit`,
      );
      // The bridge names the desktop client (its stdio handshake), and itself as the way it came.
      expect(audit.body.entries).toContainEqual(
        expect.objectContaining({
          tool: 'run_select',
          declaredModel: 'stdio-model',
          clientName: 'desktop-client',
          clientVersion: '1.0.0',
          clientVia: 'rampart-mcp-bridge/0.1.0',
        }),
      );
    } finally {
      await stdio.close();
    }
  });
});
