/**
 * The on-prem agent end to end over loopback, on real PostgreSQL: the agent connects out with its token and
 * holds the connection string; the server forwards validated queries and never connects to the database
 * itself; the agent re-validates (a server that forwards a write still cannot make it write); a missing agent
 * is a clean 503, and the agent reconnects with back-off.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../src/dbaccess/agent-client.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';
import { type Account, api, signup } from './fixtures.js';
import { startTestServer } from './helpers.js';
import { dumpTables } from './leak-support.js';

const BASE = process.env.TEST_DATABASE_URL;
type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Result = { columns: string[]; rows: unknown[][]; rowCount: number; error?: string; message?: string };

describe.skipIf(!BASE)('on-prem database agent (postgres)', () => {
  let customer: ReaderDatabase;
  let srv: Srv;
  let owner: Account;
  let apiKey: string;
  let connectionId: string;
  let agentToken: string;
  const query = (sql: string, params: unknown[] = []) =>
    api(srv.baseUrl, apiKey).post<Result>(`/api/orgs/${owner.orgId}/connections/${connectionId}/query`, {
      sql,
      params,
    });

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    // No outbound allow-list at all: the server could not reach the loopback database even if it tried.
    srv = await startTestServer('postgres');
    owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    apiKey = (await a.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' })).body.key;
    const created = await a.post<{ id: string; agentToken: string }>(`/api/orgs/${owner.orgId}/connections`, {
      name: 'on-prem',
      mode: 'agent',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.agentToken).toMatch(/^ag_/);
    ({ id: connectionId, agentToken } = created.body);
    const list = await a.get(`/api/orgs/${owner.orgId}/connections`);
    expect(list.text).not.toContain(agentToken);
  });
  afterAll(async () => {
    await srv?.close();
    await customer?.close();
  });

  it('without an agent, a query is a clean 503 at once', async () => {
    const r = await query('SELECT 1');
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('service_unavailable');
  });

  it('refuses an agent with a wrong token', async () => {
    const lines: string[] = [];
    const bad = runAgent({
      server: srv.baseUrl,
      token: `ag_${'A'.repeat(43)}`,
      databaseUrl: customer.readerUrl,
      log: (l) => lines.push(l),
      minBackoffMs: 50,
      maxBackoffMs: 100,
    });
    await new Promise((r) => setTimeout(r, 300));
    await bad.stop();
    expect(lines.some((l) => l.startsWith('connected'))).toBe(false);
    expect((await query('SELECT 1')).status).toBe(503);
  });

  it('runs queries through the agent; the server holds no connection string', async () => {
    const agent = runAgent({ server: srv.baseUrl, token: agentToken, databaseUrl: customer.readerUrl });
    try {
      await agent.ready;
      await expect.poll(async () => (await query('SELECT 1 AS one')).status).toBe(200);
      const r = await query('SELECT id, email FROM customers WHERE id = $1', [7]);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ columns: ['id', 'email'], rows: [[7, 'c7@example.com']], rowCount: 1 });
      const refused = await query('DELETE FROM customers');
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('query_not_allowed');
      const dump = await dumpTables(srv.rampart.services.db);
      expect(dump.text.includes(new URL(customer.readerUrl).password)).toBe(false);
      expect(dump.text.includes(agentToken)).toBe(false);
    } finally {
      await agent.stop();
    }
  });

  it('MCP tools work through the agent too (schema from information_schema, typed query)', async () => {
    const agent = runAgent({ server: srv.baseUrl, token: agentToken, databaseUrl: customer.readerUrl });
    const client = new Client({ name: 'agent-mcp-test', version: '1.0.0' });
    try {
      await agent.ready;
      await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${srv.baseUrl}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
        }),
      );
      const tables = await client.callTool({ name: 'list_tables', arguments: { connectionId } });
      expect(JSON.parse((tables as { content: Array<{ text: string }> }).content[0]?.text ?? '')).toEqual([
        { schema: 'public', name: 'customers' },
      ]);
      const q = await client.callTool({
        name: 'query_table',
        arguments: {
          connectionId,
          table: 'customers',
          columns: ['email'],
          filters: [{ column: 'id', op: 'eq', value: 3 }],
        },
      });
      expect(JSON.parse((q as { content: Array<{ text: string }> }).content[0]?.text ?? '').rows).toEqual([
        ['c3@example.com'],
      ]);
    } finally {
      await client.close();
      await agent.stop();
    }
  });

  it('the agent re-validates: a write forwarded by the server is refused locally and changes nothing', async () => {
    const agent = runAgent({ server: srv.baseUrl, token: agentToken, databaseUrl: customer.readerUrl });
    try {
      await agent.ready;
      await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
      await expect(
        srv.rampart.services.agentHub.query(connectionId, 'DELETE FROM customers', [], 5_000),
      ).rejects.toMatchObject({ code: 'query_not_allowed' });
      const n = await customer.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
      expect(n.rows[0]?.n).toBe(50);
    } finally {
      await agent.stop();
    }
  });

  it('the agent refuses attribute notation forwarded by the server (x.pg_advisory_lock) and a call only its catalog knows (x.setseed)', async () => {
    const agent = runAgent({ server: srv.baseUrl, token: agentToken, databaseUrl: customer.readerUrl });
    try {
      await agent.ready;
      await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
      // Forwarded as if by a server that skipped its own check: the agent's guard refuses it.
      await expect(
        srv.rampart.services.agentHub.query(
          connectionId,
          'SELECT x.pg_advisory_lock FROM generate_series(4242, 4242) x',
          [],
          5_000,
        ),
      ).rejects.toMatchObject({ code: 'query_not_allowed' });
      const locks = await customer.admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'",
      );
      expect(locks.rows[0]?.n).toBe(0);
      // The server's guard cannot know setseed is a function of this database; the agent's catalog check does.
      const r = await query('SELECT x.setseed FROM generate_series(1,1) x');
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toBe('query_not_allowed');
      expect(r.body.message).toMatch(/function setseed/);
    } finally {
      await agent.stop();
    }
  });

  it('reconnects with back-off after the link drops', async () => {
    const lines: string[] = [];
    const agent = runAgent({
      server: srv.baseUrl,
      token: agentToken,
      databaseUrl: customer.readerUrl,
      log: (l) => lines.push(l),
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    try {
      await agent.ready;
      await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
      // A second agent replaces the first (as after a network flap); the first reconnects and takes over again.
      const intruder = runAgent({ server: srv.baseUrl, token: agentToken, databaseUrl: customer.readerUrl });
      await intruder.ready;
      await intruder.stop();
      await expect
        .poll(() => lines.filter((l) => l.startsWith('connected')).length, { timeout: 5_000 })
        .toBeGreaterThanOrEqual(2);
      await expect.poll(async () => (await query('SELECT 2 AS two')).status, { timeout: 5_000 }).toBe(200);
    } finally {
      await agent.stop();
    }
  });

  it('`rampart agent` (the built CLI) serves queries until it is stopped', async () => {
    const bin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'agent', '--server', srv.baseUrl, '--token', agentToken], {
      env: { ...process.env, RAMPART_AGENT_DATABASE_URL: customer.readerUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    try {
      await expect.poll(() => err, { timeout: 15_000 }).toContain('connected to Rampart');
      await expect
        .poll(async () => (await query('SELECT count(*) AS n FROM customers')).body.rows, { timeout: 5_000 })
        .toEqual([['50']]);
      expect(err).not.toContain(new URL(customer.readerUrl).password);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
    await expect.poll(async () => (await query('SELECT 1')).status, { timeout: 5_000 }).toBe(503);
  });
});
