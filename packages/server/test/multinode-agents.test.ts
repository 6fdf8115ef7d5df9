/**
 * On-prem agents across nodes (issue 23 §1): two Rampart nodes on one PostgreSQL, the agent connected to node A
 * through a TCP load balancer (as in a real deployment). Queries and MCP calls that land on node B are forwarded
 * over the node bus to A and answered; 50 concurrent queries through B each get their own answer; when A goes
 * away the agent reconnects (through the balancer) to B and queries resume; an agent connected to both nodes
 * serves each node's queries locally. Run twice: with Redis as the bus and with PostgreSQL LISTEN/NOTIFY.
 * Then the edges: a node that never answers (504), an answer that comes twice, a forged answer, and the
 * keep-alive ping on /agent from both ends.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openString, seal } from '@rampart/core/seal';
import { type Account, api, createPgDatabase, type PgDatabase, signup } from '@rampart/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type RunningAgent, runAgent } from '../src/dbaccess/agent-client.js';
import { nodeChannel, PgBus } from '../src/platform/bus.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';
import { startTestServer } from './helpers.js';

const BASE = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
type Srv = Awaited<ReturnType<typeof startTestServer>>;
type Result = { columns: string[]; rows: unknown[][]; rowCount: number; error?: string };

/** A TCP balancer: each new connection goes to the first backend that accepts it (a dead one is skipped). */
async function startBalancer(backends: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    const tryNext = (ports: number[]) => {
      const [port, ...rest] = ports;
      if (port === undefined) return client.destroy();
      const upstream = tcpConnect(port, '127.0.0.1');
      upstream.once('error', () => {
        upstream.destroy();
        if (!upstream.readyState || upstream.readyState === 'closed') tryNext(rest);
      });
      upstream.once('connect', () => {
        sockets.add(upstream);
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryNext(backends());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    port: addr.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Polls outside a test (expect.poll is for tests only). */
async function until(ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const portOf = (srv: Srv) => Number(new URL(srv.baseUrl).port);

const buses: Array<{ name: string; env: Record<string, string> }> = [
  ...(REDIS_URL ? [{ name: 'Redis pub/sub', env: { REDIS_URL } }] : []),
  // No REDIS_URL: the nodes talk through PostgreSQL LISTEN/NOTIFY.
  { name: 'PostgreSQL LISTEN/NOTIFY', env: {} },
];

describe.skipIf(!BASE).each(buses)('an agent on node A, queries through node B ($name)', ({ env }) => {
  let shared: PgDatabase;
  let customer: ReaderDatabase;
  let nodeA: Srv | undefined;
  let nodeB: Srv;
  let owner: Account;
  let apiKey: string;
  let connectionId: string;
  let agentToken: string;
  let balancer: Awaited<ReturnType<typeof startBalancer>>;
  let agent: RunningAgent | undefined;
  const agentLog: string[] = [];

  const queryOn = (srv: Srv, sql: string, params: unknown[] = []) =>
    api(srv.baseUrl, apiKey).post<Result>(`/api/orgs/${owner.orgId}/connections/${connectionId}/query`, {
      sql,
      params,
    });

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    shared = await createPgDatabase();
    const nodeEnv = { ...env, DATABASE_URL: shared.url };
    nodeA = await startTestServer('postgres', nodeEnv);
    nodeB = await startTestServer('postgres', nodeEnv);
    expect(nodeA.rampart.services.bus.kind).toBe(env.REDIS_URL ? 'redis' : 'postgres');
    expect(nodeB.rampart.services.bus.nodeId).not.toBe(nodeA.rampart.services.bus.nodeId);
    owner = await signup(nodeA.baseUrl);
    const a = api(nodeA.baseUrl, owner.token);
    apiKey = (await a.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' })).body.key;
    const created = await a.post<{ id: string; agentToken: string }>(`/api/orgs/${owner.orgId}/connections`, {
      name: 'on-prem',
      mode: 'agent',
    });
    expect(created.status, created.text).toBe(201);
    ({ id: connectionId, agentToken } = created.body);
    // The balancer sends the agent to A while A is up, to B once it is not.
    balancer = await startBalancer(() => [nodeA, nodeB].filter((n): n is Srv => !!n).map(portOf));
    agent = runAgent({
      server: `http://127.0.0.1:${balancer.port}`,
      token: agentToken,
      databaseUrl: customer.readerUrl,
      minBackoffMs: 50,
      maxBackoffMs: 200,
      log: (l) => agentLog.push(l),
    });
    await agent.ready;
    await until(() => nodeA?.rampart.services.agentHub.connected(connectionId) === true);
  });
  afterAll(async () => {
    await agent?.stop();
    await balancer?.close();
    await nodeB?.close();
    await nodeA?.close();
    await shared?.drop();
    await customer?.close();
  });

  it('a query that lands on B is answered by the agent held by A', async () => {
    expect(nodeB.rampart.services.agentHub.connected(connectionId)).toBe(false);
    const r = await queryOn(nodeB, 'SELECT id, email FROM customers WHERE id = $1', [7]);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ columns: ['id', 'email'], rows: [[7, 'c7@example.com']], rowCount: 1 });
    // The guard still runs on B, and the agent's own on A's forwarding: a write is refused.
    const refused = await queryOn(nodeB, 'DELETE FROM customers');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('query_not_allowed');
  });

  it('MCP through B lists the tables and queries one through the agent on A', async () => {
    const client = new Client({ name: 'multinode-mcp-test', version: '1.0.0' });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${nodeB.baseUrl}/mcp`), {
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
    }
  });

  it('50 concurrent queries through B each get their own answer', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => i + 1);
    const answers = await Promise.all(
      ids.map((id) => queryOn(nodeB, 'SELECT id, email FROM customers WHERE id = $1', [id])),
    );
    for (const [i, r] of answers.entries()) {
      const id = ids[i] as number;
      expect(r.status, r.text).toBe(200);
      expect(r.body.rows).toEqual([[id, `c${id}@example.com`]]);
    }
  });

  it('when A goes away, the agent reconnects to B and queries through B resume', async () => {
    const a = nodeA as Srv;
    nodeA = undefined;
    await a.close();
    await expect
      .poll(() => nodeB.rampart.services.agentHub.connected(connectionId), { timeout: 10_000 })
      .toBe(true);
    const r = await queryOn(nodeB, 'SELECT email FROM customers WHERE id = $1', [11]);
    expect(r.status, r.text).toBe(200);
    expect(r.body.rows).toEqual([['c11@example.com']]);
    expect(agentLog.some((l) => l.startsWith('disconnected'))).toBe(true);
  });
});

describe.skipIf(!BASE)('one agent connected to two nodes at once', () => {
  let shared: PgDatabase;
  let customer: ReaderDatabase;
  const nodes: Srv[] = [];
  let agent: RunningAgent | undefined;

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    shared = await createPgDatabase();
    for (let i = 0; i < 2; i++) nodes.push(await startTestServer('postgres', { DATABASE_URL: shared.url }));
  });
  afterAll(async () => {
    await agent?.stop();
    for (const n of nodes) await n.close();
    await shared?.drop();
    await customer?.close();
  });

  it('holds a socket to each node; each node runs its queries on its own socket', async () => {
    const [a, b] = nodes as [Srv, Srv];
    const owner = await signup(a.baseUrl);
    const k = api(a.baseUrl, owner.token);
    const key = (await k.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' })).body.key;
    const created = await k.post<{ id: string; agentToken: string }>(`/api/orgs/${owner.orgId}/connections`, {
      name: 'ha',
      mode: 'agent',
    });
    const { id, agentToken } = created.body;
    agent = runAgent({ server: [a.baseUrl, b.baseUrl], token: agentToken, databaseUrl: customer.readerUrl });
    await agent.ready;
    for (const n of nodes) await expect.poll(() => n.rampart.services.agentHub.connected(id)).toBe(true);
    for (const n of nodes) {
      const r = await api(n.baseUrl, key).post<Result>(`/api/orgs/${owner.orgId}/connections/${id}/query`, {
        sql: 'SELECT count(*)::int AS n FROM customers',
        params: [],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.rows).toEqual([[50]]);
    }
    const { rows } = await a.rampart.services.db.platform((q) =>
      q.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_presence WHERE connection_id = $1', [id]),
    );
    expect(rows[0]?.n).toBe(2);
  });
});

describe.skipIf(!BASE)('forwarding: timeouts and answers that come twice (PostgreSQL LISTEN/NOTIFY)', () => {
  let shared: PgDatabase;
  let node: Srv;
  let fake: PgBus;
  let pool: pg.Pool;
  let connectionId: string;

  beforeAll(async () => {
    shared = await createPgDatabase();
    node = await startTestServer('postgres', { DATABASE_URL: shared.url });
    const owner = await signup(node.baseUrl);
    const created = await api(node.baseUrl, owner.token).post<{ id: string }>(
      `/api/orgs/${owner.orgId}/connections`,
      { name: 'elsewhere', mode: 'agent' },
    );
    connectionId = created.body.id;
    pool = new pg.Pool({ connectionString: shared.url, max: 2 });
    // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
    pool.on('error', () => {});
    // Another "node" on the same bus that claims to hold the agent.
    fake = new PgBus(
      shared.url,
      async (channel, payloads) => {
        await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      },
      pino({ level: 'silent' }),
    );
    await fake.start();
    await node.rampart.services.db.platform((q) =>
      q.query('INSERT INTO agent_presence (connection_id, node_id) VALUES ($1, $2)', [
        connectionId,
        fake.nodeId,
      ]),
    );
  });
  afterAll(async () => {
    await fake?.close();
    await pool?.end();
    await node?.close();
    await shared?.drop();
  });

  it('a node that never answers is a 504 (upstream_timeout), not a hang', async () => {
    const started = Date.now();
    await expect(
      node.rampart.services.agentHub.query(connectionId, 'SELECT 1', [], 200),
    ).rejects.toMatchObject({ code: 'upstream_timeout', status: 504 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the first answer settles the query; a repeated or late one is dropped', async () => {
    const ring = node.rampart.services.ring;
    const aad = (id: string) => ({ orgId: null, table: 'node_bus', column: 'agent_result', rowId: id });
    const off = await fake.subscribe(nodeChannel(fake.nodeId), (m) => {
      const id = m.id as string;
      const q = JSON.parse(
        openString(ring, m.box as string, {
          ...aad(id),
          column: 'agent_query',
          rowId: `${id}:${m.connectionId as string}`,
        }),
      ) as {
        sql: string;
      };
      const answer = (n: number) => ({
        t: 'result',
        id,
        box: seal(
          ring,
          JSON.stringify({ columns: ['n'], rows: [[n]], rowCount: 1, truncated: false }),
          aad(id),
        ),
      });
      expect(q.sql).toBe('SELECT 1');
      void (async () => {
        await fake.publish(nodeChannel(m.from as string), answer(1));
        await fake.publish(nodeChannel(m.from as string), answer(2));
      })();
    });
    try {
      const r = await node.rampart.services.agentHub.query(connectionId, 'SELECT 1', [], 2_000);
      expect(r.rows).toEqual([[1]]);
      // The second answer arrives and finds nothing waiting: no crash, no effect on the next query.
      await new Promise((r) => setTimeout(r, 200));
      const again = await node.rampart.services.agentHub.query(connectionId, 'SELECT 1', [], 2_000);
      expect(again.rows).toEqual([[1]]);
    } finally {
      off();
    }
  });

  it('an answer not sealed with the deployment keys is refused as bad_gateway', async () => {
    const off = await fake.subscribe(nodeChannel(fake.nodeId), (m) => {
      void fake.publish(nodeChannel(m.from as string), { t: 'result', id: m.id, box: 'v1.forged' });
    });
    try {
      await expect(
        node.rampart.services.agentHub.query(connectionId, 'SELECT 1', [], 2_000),
      ).rejects.toMatchObject({ code: 'bad_gateway' });
    } finally {
      off();
    }
  });
});

describe('keep-alive on /agent', () => {
  it('pings every agent socket and closes one that stops answering; its presence goes with it', async () => {
    const srv = await startTestServer('pglite', { RAMPART_AGENT_PING_MS: '150' });
    try {
      const owner = await signup(srv.baseUrl);
      const created = await api(srv.baseUrl, owner.token).post<{ id: string; agentToken: string }>(
        `/api/orgs/${owner.orgId}/connections`,
        { name: 'quiet', mode: 'agent' },
      );
      const { id, agentToken } = created.body;
      const url = `${srv.baseUrl.replace('http', 'ws')}/agent`;
      // A well-behaved socket answers pings (ws does so by default) and stays.
      const good = new WebSocket(url, { headers: { authorization: `Bearer ${agentToken}` } });
      let pings = 0;
      good.on('ping', () => pings++);
      await new Promise((r) => good.once('open', r));
      await new Promise((r) => setTimeout(r, 700));
      expect(pings).toBeGreaterThanOrEqual(3);
      expect(good.readyState).toBe(WebSocket.OPEN);
      expect(srv.rampart.services.agentHub.connected(id)).toBe(true);
      // A socket that goes silent (a proxy dropped it without a FIN) is closed by the second missed ping.
      const silent = new WebSocket(url, {
        headers: { authorization: `Bearer ${agentToken}` },
        autoPong: false,
      });
      await new Promise((r) => silent.once('open', r));
      good.close();
      const openedAt = Date.now();
      const closedAt = await new Promise<number>((r) => silent.once('close', () => r(Date.now())));
      console.info(`[agent keep-alive] silent socket closed after ${closedAt - openedAt} ms`);
      expect(closedAt - openedAt).toBeLessThan(2_000);
      await expect.poll(() => srv.rampart.services.agentHub.connected(id)).toBe(false);
      const presence = () =>
        srv.rampart.services.db.platform(async (q) => {
          const { rows } = await q.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM agent_presence WHERE connection_id = $1',
            [id],
          );
          return rows[0]?.n;
        });
      await expect.poll(presence).toBe(0);
    } finally {
      await srv.close();
    }
  });

  it('the agent reconnects when a server that pinged it falls silent', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.ping(); // one ping arms the agent's watchdog; then silence
    });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    const lines: string[] = [];
    const agent = runAgent({
      server: `http://127.0.0.1:${port}`,
      token: `ag_${'A'.repeat(43)}`,
      databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
      silenceTimeoutMs: 200,
      minBackoffMs: 20,
      maxBackoffMs: 50,
      log: (l) => lines.push(l),
    });
    try {
      await expect.poll(() => connections, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
      expect(lines.some((l) => l.startsWith('no ping from Rampart'))).toBe(true);
    } finally {
      await agent.stop();
      await new Promise((r) => wss.close(r));
    }
  });
});
