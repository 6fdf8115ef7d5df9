/**
 * The on-prem agent end to end over loopback, on real PostgreSQL: the agent connects out with its token and
 * holds the connection string; the server forwards validated queries and never connects to the database
 * itself; the agent re-validates (a server that forwards a write still cannot make it write); a missing agent
 * is a clean 503, and the agent reconnects with back-off.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Account, api, signup } from '@rampart/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentQueryHandler, ReadOnlyCheckError, runAgent } from '../src/dbaccess/agent-client.js';
import { agentPolicySchema, loadAgentPolicy } from '../src/dbaccess/agent-policy.js';
import { writeCapabilities } from '../src/dbaccess/agent-readonly.js';
import { AppError } from '../src/platform/errors.js';
import { createReaderDatabase, type ReaderDatabase, startSilentPostgres } from './dbaccess-support.js';
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

  let dir: string;
  let policyFile: string;
  const policy = {
    version: 1,
    tables: ['public.customers', 'public.users'],
    deniedColumns: ['*.password_hash'],
    maxRows: 20,
  };
  const readAudit = (file: string) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    // Tables the role CAN read (its grants allow them); the agent's policy is what keeps a server out of them.
    const role = new URL(customer.readerUrl).username;
    await customer.admin.query(
      `CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, password_hash text NOT NULL);
       INSERT INTO users VALUES (1, 'u1@example.com', 'hash-of-u1'), (2, 'u2@example.com', 'hash-of-u2');
       CREATE TABLE secrets (id int, token text);
       INSERT INTO secrets VALUES (1, 'top-secret-token');
       GRANT SELECT ON users, secrets TO ${role};`,
    );
    dir = mkdtempSync(join(tmpdir(), 'rampart-agent-'));
    policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(policy));
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
    if (dir) rmSync(dir, { recursive: true, force: true });
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
        { schema: 'public', name: 'secrets' },
        { schema: 'public', name: 'users' },
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
      // This lock only (key 4242 in this database): other test files share the PostgreSQL server, and one of
      // them takes advisory locks on purpose to show what the executor alone would allow.
      const locks = await customer.admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
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

  describe('review finding 11: the agent enforces its own policy, audits locally, and can refuse a writing role', () => {
    it('a compromised server asking for a table outside the policy is refused, and the audit file records it', async () => {
      const auditFile = join(dir, 'outside.jsonl');
      const agent = runAgent({
        server: srv.baseUrl,
        token: agentToken,
        databaseUrl: customer.readerUrl,
        policy: loadAgentPolicy(policyFile),
        auditFile,
      });
      try {
        await agent.ready;
        await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
        // The server's own checks are bypassed: this is what a compromised server can send.
        const hub = srv.rampart.services.agentHub;
        const refused = await hub.query(connectionId, 'SELECT token FROM secrets', [], 5_000).catch((e) => e);
        expect(refused).toMatchObject({ code: 'query_not_allowed' });
        expect(String(refused.message)).toContain('public.secrets is not allowed');
        const ok = await hub.query(connectionId, 'SELECT id FROM customers ORDER BY id', [], 5_000);
        expect(ok).toMatchObject({ rowCount: 20, truncated: true }); // the policy's maxRows
        const lines = readAudit(auditFile);
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatchObject({
          sql: 'SELECT token FROM secrets',
          outcome: 'query_not_allowed',
          rowCount: 0,
          params: 0,
        });
        expect(lines[0]?.sqlHash).toMatch(/^[0-9a-f]{64}$/);
        expect(lines[1]).toMatchObject({ outcome: 'ok', rowCount: 20, truncated: true });
        expect(readFileSync(auditFile, 'utf8')).not.toContain('top-secret-token');
        expect(statSync(auditFile).mode & 0o777).toBe(0o600);
      } finally {
        await agent.stop();
      }
      // Append-only: a restarted agent adds to the file, never rewrites it.
      const again = runAgent({
        server: srv.baseUrl,
        token: agentToken,
        databaseUrl: customer.readerUrl,
        policy: loadAgentPolicy(policyFile),
        auditFile,
      });
      try {
        await again.ready;
        await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
        await srv.rampart.services.agentHub.query(connectionId, 'SELECT 1 AS one', [], 5_000);
        expect(readAudit(auditFile)).toHaveLength(3);
      } finally {
        await again.stop();
      }
    });

    describe('the policy against a corpus (handler called directly, as a compromised server would)', () => {
      let client: pg.Client;
      let handle: ReturnType<typeof agentQueryHandler>;
      beforeAll(async () => {
        client = new pg.Client({ connectionString: customer.readerUrl });
        await client.connect();
        handle = agentQueryHandler({ database: async () => client, policy: loadAgentPolicy(policyFile) });
      });
      afterAll(() => client?.end());

      it.each([
        ['a denied column by name', 'SELECT password_hash FROM users'],
        ['a denied column quoted and schema-qualified', 'SELECT "password_hash" FROM public.users'],
        ['star over a denied column', 'SELECT * FROM users'],
        ['qualified star', 'SELECT u.* FROM users u'],
        ['field star', 'SELECT (u).* FROM users u'],
        ['a whole-row value by alias', 'SELECT u FROM users u'],
        ['a whole-row value by table name', 'SELECT users FROM users'],
        ['a whole-row value in a function', 'SELECT to_json(u) FROM users u'],
        [
          'a whole-row value by attribute notation (u.to_json is to_json(u))',
          'SELECT u.to_json FROM users u',
        ],
        ['a whole-row value by attribute notation, unaliased', 'SELECT users.to_jsonb FROM users'],
        [
          'a whole-row value by attribute notation, schema-qualified',
          'SELECT public.users.concat FROM public.users',
        ],
        [
          'a whole-row value by attribute notation in WHERE',
          "SELECT id FROM users u WHERE u.concat LIKE '%hash-of-u1%'",
        ],
        ['a column alias list renaming it', 'SELECT x.c FROM users AS x(a, b, c)'],
        ['an oracle in WHERE', "SELECT count(*) FROM users WHERE password_hash LIKE 'hash-of-u1%'"],
        ['an oracle in ORDER BY', 'SELECT id FROM users ORDER BY password_hash'],
        [
          'a NATURAL join against guesses',
          "SELECT id FROM users NATURAL JOIN (SELECT 'x' AS password_hash) g",
        ],
        [
          'a USING join against guesses',
          "SELECT id FROM users JOIN (SELECT 1 AS id, 'x' AS password_hash) g USING (id, password_hash)",
        ],
        ['inside a CTE', 'WITH w AS (SELECT password_hash AS p FROM users) SELECT count(*) FROM w'],
        ['inside a scalar subquery', 'SELECT (SELECT max(password_hash) FROM users) AS m'],
        ['a table outside the policy', 'SELECT token FROM secrets'],
        ['a table outside the policy, qualified', 'SELECT token FROM public.secrets'],
        [
          'a table outside the policy in a subquery',
          'SELECT id FROM customers WHERE id IN (SELECT id FROM secrets)',
        ],
        [
          'a table outside the policy in a join',
          'SELECT c.id FROM customers c JOIN secrets s ON s.id = c.id',
        ],
        ['a system catalog', 'SELECT relname FROM pg_class'],
        ['planner statistics (they hold column values)', 'SELECT most_common_vals::text FROM pg_stats'],
        [
          'an information_schema view other than tables/columns',
          'SELECT * FROM information_schema.role_table_grants',
        ],
        ['an unknown relation', 'SELECT * FROM nowhere'],
      ])('%s is refused', async (_what, sql) => {
        const err = await handle(sql, []).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).code).toBe('query_not_allowed');
        // Refused by the policy itself: the guard accepts every one of these.
        expect((err as AppError).message).toContain("agent's policy");
      });

      it.each([
        ['named columns of a table with a denied column', 'SELECT id, email FROM users ORDER BY id'],
        ['count(*)', 'SELECT count(*) FROM users'],
        ['star on a table without denied columns', 'SELECT * FROM customers WHERE id = 1'],
        ['a CTE over allowed tables', 'WITH w AS (SELECT id FROM customers) SELECT count(*) FROM w'],
        ['schema discovery', 'SELECT table_name FROM information_schema.tables'],
      ])('%s is allowed', async (_what, sql) => {
        await expect(handle(sql, [])).resolves.toMatchObject({ columns: expect.any(Array) });
      });
    });

    it('the policy file is validated with clear errors', () => {
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ version: 1, tables: ['customers'], deniedColumns: ['a.b.c.d'] }));
      expect(() => loadAgentPolicy(bad)).toThrow(/tables\.0: expected "schema\.table"/);
      expect(() => loadAgentPolicy(bad)).toThrow(/deniedColumns\.0/);
      writeFileSync(bad, '{not json');
      expect(() => loadAgentPolicy(bad)).toThrow(/policy file .*bad\.json/);
      expect(agentPolicySchema.safeParse({ version: 1, tables: ['public.*'] }).success).toBe(true);
    });

    it('--read-only-check refuses a role with an INSERT grant and accepts a SELECT-only role', async () => {
      const role = new URL(customer.readerUrl).username;
      const c = new pg.Client({ connectionString: customer.readerUrl });
      await c.connect();
      try {
        expect(await writeCapabilities(c)).toEqual([]);
        await customer.admin.query(`GRANT INSERT ON customers TO ${role}`);
        expect(await writeCapabilities(c)).toEqual(['INSERT on public.customers']);
        const agent = runAgent({
          server: srv.baseUrl,
          token: agentToken,
          databaseUrl: customer.readerUrl,
          readOnlyCheck: true,
        });
        const err = await agent.ready.then(
          () => null,
          (e: unknown) => e,
        );
        await agent.stop();
        expect(err).toBeInstanceOf(ReadOnlyCheckError);
        expect(String((err as Error).message)).toContain('INSERT on public.customers');
        expect(srv.rampart.services.agentHub.connected(connectionId)).toBe(false);
      } finally {
        await customer.admin.query(`REVOKE INSERT ON customers FROM ${role}`);
        await c.end();
      }
      const ok = runAgent({
        server: srv.baseUrl,
        token: agentToken,
        databaseUrl: customer.readerUrl,
        readOnlyCheck: true,
      });
      try {
        await ok.ready;
      } finally {
        await ok.stop();
      }
    });
  });

  it('review finding 4 (agent): a local database that never answers settles as upstream_timeout, audited', async () => {
    const silent = await startSilentPostgres(true);
    const auditFile = join(dir, 'silent.jsonl');
    const agent = runAgent({
      server: srv.baseUrl,
      token: agentToken,
      databaseUrl: `postgres://u:p@127.0.0.1:${silent.port}/db`,
      auditFile,
      policy: loadAgentPolicy(policyFile), // its catalog lookups must not hang either
      limits: { timeoutMs: 200, clientTimeoutMs: 300 },
    });
    try {
      await agent.ready;
      await expect.poll(() => srv.rampart.services.agentHub.connected(connectionId)).toBe(true);
      const started = performance.now();
      const err = await srv.rampart.services.agentHub
        .query(connectionId, 'SELECT id FROM customers', [], 3_000)
        .catch((e) => e);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(err).toMatchObject({ code: 'upstream_timeout' });
      expect(readAudit(auditFile)).toEqual([
        expect.objectContaining({ outcome: 'upstream_timeout', sql: 'SELECT id FROM customers' }),
      ]);
    } finally {
      await agent.stop();
      await silent.close();
    }
  });

  it('`rampart agent` (the built CLI) serves queries until it is stopped', async () => {
    const bin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
    const auditFile = join(dir, 'cli.jsonl');
    const args = ['agent', '--server', srv.baseUrl, '--token', agentToken, '--policy', policyFile];
    const child = spawn(process.execPath, [bin, ...args, '--audit-file', auditFile, '--read-only-check'], {
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
      expect(err).toContain('read-only check passed');
      expect(readAudit(auditFile).at(-1)).toMatchObject({
        sql: 'SELECT count(*) AS n FROM customers',
        outcome: 'ok',
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
    await expect.poll(async () => (await query('SELECT 1')).status, { timeout: 5_000 }).toBe(503);
  });

  it('`rampart agent --policy` with an invalid policy file exits 2 and names the problem', async () => {
    const bin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
    const bad = join(dir, 'cli-bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, tables: [] }));
    const child = spawn(
      process.execPath,
      [bin, 'agent', '--server', srv.baseUrl, '--token', agentToken, '--policy', bad],
      {
        env: { ...process.env, RAMPART_AGENT_DATABASE_URL: customer.readerUrl },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(2);
    expect(err).toMatch(/policy file .*cli-bad\.json: tables/);
  });
});
