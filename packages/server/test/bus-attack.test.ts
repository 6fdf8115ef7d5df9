/**
 * Adversarial checks of the node bus, cross-node cache invalidation and agent forwarding.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { seal } from '@rampart/core/seal';
import { api, createPgDatabase, type PgDatabase, signup } from '@rampart/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runAgent } from '../src/dbaccess/agent-client.js';
import { type OrgRouting, RoutingCache } from '../src/gateway/route-cache.js';
import { type Bus, nodeChannel, PgBus, RedisBus } from '../src/platform/bus.js';
import { loadConfig } from '../src/platform/config.js';
import { Invalidations } from '../src/platform/invalidation.js';
import { startTestServer, testRing } from './helpers.js';

type Srv = Awaited<ReturnType<typeof startTestServer>>;

describe('an agent that sends junk', () => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTestServer('pglite');
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('a JSON `null` message from an agent does not take the node down', async () => {
    const owner = await signup(srv.baseUrl);
    const created = await api(srv.baseUrl, owner.token).post<{ id: string; agentToken: string }>(
      `/api/orgs/${owner.orgId}/connections`,
      { name: 'junk', mode: 'agent' },
    );
    const { id, agentToken } = created.body;
    const ws = new WebSocket(`${srv.baseUrl.replace('http', 'ws')}/agent`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    await new Promise((r) => ws.once('open', r));
    await expect.poll(() => srv.rampart.services.agentHub.connected(id)).toBe(true);
    const errors: unknown[] = [];
    const onErr = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onErr);
    try {
      ws.send('null');
      ws.send('"x"');
      ws.send('[]');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off('uncaughtException', onErr);
    }
    expect(errors).toEqual([]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});

describe('an agent that answers with the wrong shape', () => {
  let srv: Srv;
  beforeAll(async () => {
    srv = await startTestServer('pglite');
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('is a bad_gateway, never a 500', async () => {
    const owner = await signup(srv.baseUrl);
    const a = api(srv.baseUrl, owner.token);
    const created = await a.post<{ id: string; agentToken: string }>(`/api/orgs/${owner.orgId}/connections`, {
      name: 'odd',
      mode: 'agent',
    });
    const { id, agentToken } = created.body;
    const key = (await a.post<{ key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' })).body.key;
    const ws = new WebSocket(`${srv.baseUrl.replace('http', 'ws')}/agent`, {
      headers: { authorization: `Bearer ${agentToken}` },
    });
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { id: string };
      ws.send(JSON.stringify({ type: 'result', id: m.id, result: { columns: 'x', rows: 5 } }));
    });
    await new Promise((r) => ws.once('open', r));
    await expect.poll(() => srv.rampart.services.agentHub.connected(id)).toBe(true);
    const r = await api(srv.baseUrl, key).post(`/api/orgs/${owner.orgId}/connections/${id}/query`, {
      sql: 'SELECT 1',
      params: [],
    });
    expect(r.status, r.text).toBe(502);
    expect((r.body as { error: string }).error).toBe('bad_gateway');
    ws.close();
  });
});

const DB = process.env.TEST_DATABASE_URL;

describe.skipIf(!DB)('a lookup in flight when the revocation arrives', () => {
  let shared: PgDatabase;
  let nodeA: Srv;
  let nodeB: Srv;
  let owner: Awaited<ReturnType<typeof signup>>;

  /** Makes the key lookup read its row, then take `ms` before answering (a slow pool, a GC pause). */
  const slowLookup = async (ms: number) => {
    const c = new pg.Client({ connectionString: shared.url });
    await c.connect();
    try {
      await c.query(`
        CREATE OR REPLACE FUNCTION rampart_find_api_key(p_hash text)
          RETURNS TABLE (id uuid, org_id uuid, redaction text, region text, revoked boolean, last_used_at timestamptz,
                         scopes text[], created_by uuid, redaction_mode text, redact_completions boolean)
          LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
          AS $$ BEGIN
            RETURN QUERY SELECT k.id, k.org_id, k.redaction, k.region, k.revoked_at IS NOT NULL, k.last_used_at,
                                k.scopes, k.created_by, k.redaction_mode, k.redact_completions
                           FROM api_keys k WHERE k.key_hash = p_hash;
            PERFORM pg_sleep(${ms / 1000});
          END $$`);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    shared = await createPgDatabase();
    const env = { DATABASE_URL: shared.url };
    nodeA = await startTestServer('postgres', env);
    nodeB = await startTestServer('postgres', env);
    owner = await signup(nodeA.baseUrl);
  });
  afterAll(async () => {
    await nodeB?.close();
    await nodeA?.close();
    await shared?.drop();
  });

  it('does not put a revoked key back into the cache after the invalidation passed', async () => {
    const a = api(nodeA.baseUrl, owner.token);
    const key = await a.post<{ id: string; key: string }>(`/api/orgs/${owner.orgId}/api-keys`, { name: 'k' });
    expect(key.status, key.text).toBe(201);
    await slowLookup(800);
    // B starts a lookup: it reads the live row, then is slow to answer.
    const inFlight = api(nodeB.baseUrl, key.body.key).get('/v1/models');
    await sleep(250);
    // Meanwhile A revokes; the announcement reaches B before its lookup finishes.
    expect((await a.del(`/api/orgs/${owner.orgId}/api-keys/${key.body.id}`)).status).toBe(200);
    await sleep(100);
    await inFlight; // began before the revocation: either answer is fair
    // Every request that starts after the revocation reached B is refused.
    const after = await api(nodeB.baseUrl, key.body.key).get('/v1/models');
    expect(after.status).toBe(401);
  });
});

describe('the routing cache and an invalidation during a load', () => {
  it('does not keep what a load read before the change', async () => {
    const cache = new RoutingCache();
    const orgId = '00000000-0000-4000-8000-000000000001';
    const stale = { providers: [] } as unknown as OrgRouting;
    const fresh = { providers: [] } as unknown as OrgRouting;
    let release: () => void = () => {};
    const loading = cache.get(orgId, async () => {
      await new Promise<void>((r) => {
        release = r;
      });
      return stale;
    });
    await sleep(10);
    cache.invalidate(orgId); // the provider was deleted and announced while the load was under way
    release();
    expect(await loading).toBe(stale); // the request that began before the change may use it
    expect(cache.peek(orgId)).toBeUndefined();
    expect(await cache.get(orgId, async () => fresh)).toBe(fresh);
    expect(cache.peek(orgId)).toBe(fresh);
  });
});

describe.skipIf(!DB)("a forwarded query replayed against another org's agent", () => {
  let shared: PgDatabase;
  let node: Srv;
  let fake: PgBus;
  let pool: pg.Pool;
  let agentWs: WebSocket | undefined;

  beforeAll(async () => {
    shared = await createPgDatabase();
    node = await startTestServer('postgres', { DATABASE_URL: shared.url });
    pool = new pg.Pool({ connectionString: shared.url, max: 2 });
    // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
    pool.on('error', () => {});
    // Someone who can publish on the bus (the database or Redis), but holds no master key.
    fake = new PgBus(
      shared.url,
      async (channel, payloads) => {
        await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      },
      pino({ level: 'silent' }),
    );
    await fake.start();
  });
  afterAll(async () => {
    agentWs?.close();
    await fake?.close();
    await pool?.end();
    await node?.close();
    await shared?.drop();
  });

  it('runs only on the connection it was sealed for', async () => {
    // Org Y's agent is connected to the node and answers with Y's data.
    const y = await signup(node.baseUrl);
    const cy = await api(node.baseUrl, y.token).post<{ id: string; agentToken: string }>(
      `/api/orgs/${y.orgId}/connections`,
      { name: 'y', mode: 'agent' },
    );
    let ranOnY = 0;
    agentWs = new WebSocket(`${node.baseUrl.replace('http', 'ws')}/agent`, {
      headers: { authorization: `Bearer ${cy.body.agentToken}` },
    });
    agentWs.on('message', (data) => {
      const m = JSON.parse(String(data)) as { id: string };
      ranOnY++;
      agentWs?.send(
        JSON.stringify({
          type: 'result',
          id: m.id,
          result: { columns: ['secret'], rows: [['org Y data']], rowCount: 1, truncated: false },
        }),
      );
    });
    await new Promise((r) => agentWs?.once('open', r));
    await expect.poll(() => node.rampart.services.agentHub.connected(cy.body.id)).toBe(true);
    // Org X's connection: its agent is (claimed to be) on the fake node.
    const x = await signup(node.baseUrl);
    const cx = await api(node.baseUrl, x.token).post<{ id: string }>(`/api/orgs/${x.orgId}/connections`, {
      name: 'x',
      mode: 'agent',
    });
    await node.rampart.services.db.platform((q) =>
      q.query('INSERT INTO agent_presence (connection_id, node_id) VALUES ($1, $2)', [
        cx.body.id,
        fake.nodeId,
      ]),
    );
    // The fake node takes X's forwarded query and sends it back, unchanged but for the connection: Y's.
    const off = await fake.subscribe(nodeChannel(fake.nodeId), (m) => {
      if (m.t !== 'query') return;
      void fake.publish(nodeChannel(m.from as string), { ...m, connectionId: cy.body.id });
    });
    try {
      const answer = node.rampart.services.agentHub.query(cx.body.id, 'SELECT 1', [], 500);
      await expect(answer).rejects.toMatchObject({ code: 'upstream_timeout' });
      expect(ranOnY).toBe(0);
    } finally {
      off();
    }
  });
});

describe.skipIf(!DB)('chunk headers from anyone who can NOTIFY', () => {
  it('a huge chunk count allocates nothing up front, and the bus keeps working', async () => {
    const db = await createPgDatabase();
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
    pool.on('error', () => {});
    const bus = new PgBus(
      db.url,
      async (channel, payloads) => {
        await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      },
      pino({ level: 'silent' }),
    );
    try {
      await bus.start();
      const got: unknown[] = [];
      await bus.subscribe('invalidate', (m) => void got.push(m));
      const before = process.memoryUsage().heapUsed;
      // NOTIFY needs no privilege beyond connecting: 100 first chunks, each announcing 999,999 parts.
      const junk = Array.from({ length: 100 }, () => `~${randomUUID()}:0:999999:x`);
      await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', ['rampart_invalidate', junk]);
      await bus.publish('invalidate', { ok: true });
      await expect.poll(() => got.length).toBe(1);
      const grown = process.memoryUsage().heapUsed - before;
      expect(grown, `heap grew by ${Math.round(grown / 1e6)} MB`).toBeLessThan(64 * 1024 * 1024);
      // A real long message still goes through whole.
      const long = 'é'.repeat(50_000);
      await bus.publish('invalidate', { long });
      await expect.poll(() => got.length).toBe(2);
      expect(got[1]).toEqual({ long });
    } finally {
      await bus.close();
      await pool.end();
      await db.drop();
    }
  });
});

describe("RAMPART_AGENT_PING_MS and the agent's silence watchdog", () => {
  it('refuses a ping interval the agents would take for a dead link (they reconnect after 65 s of silence)', () => {
    expect(loadConfig({ RAMPART_AGENT_PING_MS: '30000' }).RAMPART_AGENT_PING_MS).toBe(30_000);
    // One late ping at 60 s would already leave the agent 5 s from giving up; 120 s drops every agent every 65 s.
    expect(() => loadConfig({ RAMPART_AGENT_PING_MS: '60000' })).toThrow(/RAMPART_AGENT_PING_MS/);
    expect(() => loadConfig({ RAMPART_AGENT_PING_MS: '120000' })).toThrow(/RAMPART_AGENT_PING_MS/);
  });
});

describe.skipIf(!DB)("what a forwarded query's refusal carries over the bus", () => {
  it("the database's error text (which can quote a row) crosses sealed, like rows", async () => {
    const shared = await createPgDatabase();
    const node = await startTestServer('postgres', { DATABASE_URL: shared.url });
    const pool = new pg.Pool({ connectionString: shared.url, max: 2 });
    // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
    pool.on('error', () => {});
    const fake = new PgBus(
      shared.url,
      async (channel, payloads) => {
        await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      },
      pino({ level: 'silent' }),
    );
    let ws: WebSocket | undefined;
    try {
      await fake.start();
      const owner = await signup(node.baseUrl);
      const c = await api(node.baseUrl, owner.token).post<{ id: string; agentToken: string }>(
        `/api/orgs/${owner.orgId}/connections`,
        { name: 'e', mode: 'agent' },
      );
      ws = new WebSocket(`${node.baseUrl.replace('http', 'ws')}/agent`, {
        headers: { authorization: `Bearer ${c.body.agentToken}` },
      });
      const agent = ws;
      agent.on('message', (data) => {
        const m = JSON.parse(String(data)) as { id: string };
        agent.send(
          JSON.stringify({
            type: 'error',
            id: m.id,
            error: {
              code: 'query_not_allowed',
              message: 'The database refused the query: invalid input syntax for type integer: "123-45-6789"',
            },
          }),
        );
      });
      await new Promise((r) => agent.once('open', r));
      await expect.poll(() => node.rampart.services.agentHub.connected(c.body.id)).toBe(true);
      // Another node of the deployment forwards a query (it holds the master keys, as every node does).
      const raw: string[] = [];
      await fake.subscribe(nodeChannel(fake.nodeId), (m) => void raw.push(JSON.stringify(m)));
      const id = randomUUID();
      const box = seal(
        node.rampart.services.ring,
        JSON.stringify({
          sql: 'SELECT ssn::int FROM people',
          params: [],
          timeoutMs: 1_000,
          exp: Date.now() + 3_000,
        }),
        { orgId: null, table: 'node_bus', column: 'agent_query', rowId: `${id}:${c.body.id}` },
      );
      await fake.publish(nodeChannel(node.rampart.services.bus.nodeId), {
        t: 'query',
        id,
        from: fake.nodeId,
        connectionId: c.body.id,
        box,
      });
      await expect.poll(() => raw.length).toBe(1);
      expect(raw[0]).not.toContain('123-45-6789');
      // A node of the deployment still gets the refusal whole.
      const other = await startTestServer('postgres', { DATABASE_URL: shared.url });
      try {
        await expect(
          other.rampart.services.agentHub.query(c.body.id, 'SELECT 1', [], 2_000),
        ).rejects.toMatchObject({
          code: 'query_not_allowed',
          message: expect.stringContaining('"123-45-6789"'),
        });
      } finally {
        await other.close();
      }
    } finally {
      ws?.close();
      await fake.close();
      await pool.end();
      await node.close();
      await shared.drop();
    }
  });
});

describe.skipIf(!DB)('a query that reaches a node shutting down', () => {
  it('is refused at once, not forwarded where its answer can no longer arrive', async () => {
    const shared = await createPgDatabase();
    const node = await startTestServer('postgres', { DATABASE_URL: shared.url });
    try {
      const owner = await signup(node.baseUrl);
      const c = await api(node.baseUrl, owner.token).post<{ id: string }>(
        `/api/orgs/${owner.orgId}/connections`,
        {
          name: 'away',
          mode: 'agent',
        },
      );
      // Another node holds the agent.
      await node.rampart.services.db.platform((q) =>
        q.query('INSERT INTO agent_presence (connection_id, node_id) VALUES ($1, $2)', [
          c.body.id,
          randomUUID(),
        ]),
      );
      await node.rampart.services.agentHub.close(); // preClose: the node's bus channel is gone
      const started = Date.now();
      await expect(
        node.rampart.services.agentHub.query(c.body.id, 'SELECT 1', [], 1_000),
      ).rejects.toMatchObject({
        code: 'service_unavailable',
      });
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await node.close();
      await shared.drop();
    }
  });
});

/**
 * A TCP relay that can go silent: every connection open at `blackhole()` stops carrying bytes either way and is
 * never closed (a NAT or firewall that forgot the flow); connections made afterwards are relayed normally.
 */
async function silentRelay(target: string) {
  const [host = '127.0.0.1', port = '0'] = target.split(':');
  const live = new Set<{ client: Socket; upstream: Socket }>();
  const held: Socket[] = [];
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(port), host);
    const pair = { client, upstream };
    live.add(pair);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    port: addr.port,
    blackhole() {
      for (const { client, upstream } of live) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        client.removeAllListeners('close');
        upstream.removeAllListeners('close');
        held.push(client, upstream);
      }
      live.clear();
    },
    async close() {
      for (const s of held) s.destroy();
      for (const { client, upstream } of live) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const REDIS_URL = process.env.REDIS_URL;
const silentCases: Array<{ name: string; skip: boolean }> = [
  { name: 'PostgreSQL LISTEN/NOTIFY', skip: !DB },
  { name: 'Redis pub/sub', skip: !REDIS_URL },
];

describe.each(silentCases)('a bus connection that goes silent without closing ($name)', ({ name, skip }) => {
  it.skipIf(skip)('is noticed, replaced, and reported as a reconnect', async () => {
    const quiet = pino({ level: 'silent' });
    let db: PgDatabase | undefined;
    let pool: pg.Pool | undefined;
    let relay: Awaited<ReturnType<typeof silentRelay>>;
    let listener: Bus;
    let sender: Bus;
    if (name.startsWith('PostgreSQL')) {
      db = await createPgDatabase();
      const direct = db.url;
      pool = new pg.Pool({ connectionString: direct, max: 2 });
      // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
      pool.on('error', () => {});
      const notify = async (channel: string, payloads: string[]) => {
        await pool?.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      };
      const u = new URL(direct);
      relay = await silentRelay(`${u.hostname}:${u.port || 5432}`);
      u.hostname = '127.0.0.1';
      u.port = String(relay.port);
      listener = new PgBus(u.toString(), notify, quiet, { heartbeatMs: 300 });
      sender = new PgBus(direct, notify, quiet);
      await (listener as PgBus).start();
      await (sender as PgBus).start();
    } else {
      const u = new URL(REDIS_URL as string);
      relay = await silentRelay(`${u.hostname}:${u.port || 6379}`);
      u.hostname = '127.0.0.1';
      u.port = String(relay.port);
      listener = new RedisBus(u.toString(), quiet, { heartbeatMs: 300 });
      sender = new RedisBus(REDIS_URL as string, quiet);
    }
    try {
      const got: unknown[] = [];
      const channel = `t:${randomUUID()}`;
      await listener.subscribe(channel, (m) => void got.push(m));
      await sender.publish(channel, { n: 1 });
      await expect.poll(() => got.length).toBe(1);
      let reconnects = 0;
      listener.onReconnect(() => reconnects++);
      relay.blackhole();
      // Without a heartbeat nothing ever fails: the node would hear nothing more (no invalidation, no
      // forwarded agent query) and never know.
      await expect.poll(() => reconnects, { timeout: 10_000 }).toBeGreaterThan(0);
      await expect
        .poll(
          async () => {
            await sender.publish(channel, { n: 2 });
            return got.length;
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBeGreaterThan(1);
    } finally {
      await listener.close();
      await sender.close();
      await relay.close();
      await pool?.end();
      await db?.drop();
    }
  });
});

describe.skipIf(!REDIS_URL)('the reconnect report (Redis)', () => {
  it('comes once the subscriptions are live again: a message sent on it is not lost', async () => {
    const quiet = pino({ level: 'silent' });
    const listener = new RedisBus(REDIS_URL as string, quiet);
    const sender = new RedisBus(REDIS_URL as string, quiet);
    const admin = new Redis(REDIS_URL as string);
    try {
      const got: unknown[] = [];
      const channel = `t:${randomUUID()}`;
      await listener.subscribe(channel, (m) => void got.push(m));
      await sender.publish(channel, { n: 0 });
      await expect.poll(() => got.length).toBe(1);
      // A cache dropped on the report and filled again at once must hear the next change.
      listener.onReconnect(() => void sender.publish(channel, { n: 1 }));
      const list = (await admin.client('LIST')) as string;
      const line = list.split('\n').find((l) => l.includes(`name=rampart-bus-${listener.nodeId}`));
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
      await admin.client('KILL', 'ID', id as string);
      await expect.poll(() => got.length, { timeout: 5_000 }).toBe(2);
    } finally {
      await listener.close();
      await sender.close();
      admin.disconnect();
    }
  });
});

describe('an agent given the same server twice', () => {
  it('holds one socket to it instead of two that replace each other forever', async () => {
    const srv = await startTestServer('pglite');
    const lines: string[] = [];
    let agent: ReturnType<typeof runAgent> | undefined;
    try {
      const owner = await signup(srv.baseUrl);
      const created = await api(srv.baseUrl, owner.token).post<{ id: string; agentToken: string }>(
        `/api/orgs/${owner.orgId}/connections`,
        { name: 'twice', mode: 'agent' },
      );
      agent = runAgent({
        server: [srv.baseUrl, `${srv.baseUrl}/`],
        token: created.body.agentToken,
        databaseUrl: 'postgres://nobody@127.0.0.1:1/none',
        log: (l) => lines.push(l),
      });
      await agent.ready;
      await sleep(2_000);
      expect(lines.filter((l) => l.startsWith('connected')).length, lines.join('\n')).toBe(1);
    } finally {
      await agent?.stop();
      await srv.close();
    }
  });
});

describe.skipIf(!DB)('a forwarded query sent again on the bus', () => {
  it('runs once; and one past its expiry does not run at all', async () => {
    const shared = await createPgDatabase();
    const node = await startTestServer('postgres', { DATABASE_URL: shared.url });
    const pool = new pg.Pool({ connectionString: shared.url, max: 2 });
    // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
    pool.on('error', () => {});
    const fake = new PgBus(
      shared.url,
      async (channel, payloads) => {
        await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
      },
      pino({ level: 'silent' }),
    );
    let ws: WebSocket | undefined;
    try {
      await fake.start();
      const owner = await signup(node.baseUrl);
      const c = await api(node.baseUrl, owner.token).post<{ id: string; agentToken: string }>(
        `/api/orgs/${owner.orgId}/connections`,
        { name: 'r', mode: 'agent' },
      );
      ws = new WebSocket(`${node.baseUrl.replace('http', 'ws')}/agent`, {
        headers: { authorization: `Bearer ${c.body.agentToken}` },
      });
      const agent = ws;
      let ran = 0;
      agent.on('message', (data) => {
        const m = JSON.parse(String(data)) as { id: string };
        ran++;
        agent.send(
          JSON.stringify({
            type: 'result',
            id: m.id,
            result: { columns: ['n'], rows: [[1]], rowCount: 1, truncated: false },
          }),
        );
      });
      await new Promise((r) => agent.once('open', r));
      await expect.poll(() => node.rampart.services.agentHub.connected(c.body.id)).toBe(true);
      const answers: unknown[] = [];
      await fake.subscribe(nodeChannel(fake.nodeId), (m) => void answers.push(m));
      const send = async (exp: number) => {
        const id = randomUUID();
        const message = {
          t: 'query',
          id,
          from: fake.nodeId,
          connectionId: c.body.id,
          box: seal(
            node.rampart.services.ring,
            JSON.stringify({ sql: 'SELECT 1', params: [], timeoutMs: 1_000, exp }),
            { orgId: null, table: 'node_bus', column: 'agent_query', rowId: `${id}:${c.body.id}` },
          ),
        };
        return message;
      };
      const once = await send(Date.now() + 3_000);
      const to = nodeChannel(node.rampart.services.bus.nodeId);
      await fake.publish(to, once);
      await expect.poll(() => answers.length).toBe(1);
      await fake.publish(to, once); // the same message again (captured on the bus)
      await fake.publish(to, await send(Date.now() - 120_000)); // an old one
      await sleep(500);
      expect(ran).toBe(1);
      expect(answers.length).toBe(1);
    } finally {
      ws?.close();
      await fake.close();
      await pool.end();
      await node.close();
      await shared.drop();
    }
  });
});

describe.skipIf(!DB)('invalidations from someone who can only NOTIFY', () => {
  it("are ignored; those of the deployment's nodes are applied", async () => {
    const db = await createPgDatabase();
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    // An idle client cut by a terminate or a dropped database: the pool emits 'error', uncaught without this.
    pool.on('error', () => {});
    const notify = async (channel: string, payloads: string[]) => {
      await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
    };
    const quiet = pino({ level: 'silent' });
    const busA = new PgBus(db.url, notify, quiet);
    const busB = new PgBus(db.url, notify, quiet);
    try {
      await busA.start();
      await busB.start();
      const ring = testRing();
      const a = new Invalidations(busA, quiet, ring);
      const b = new Invalidations(busB, quiet, ring);
      await a.start();
      await b.start();
      const dropped: string[] = [];
      b.on('org', (id) => dropped.push(id));
      // Any role that may connect can NOTIFY: without a check, it empties every node's caches at will.
      const forged = randomUUID();
      await pool.query('SELECT pg_notify($1, $2)', [
        'rampart_invalidate',
        JSON.stringify({ kind: 'org', id: forged, from: randomUUID(), at: Date.now() }),
      ]);
      const real = randomUUID();
      await a.announce('org', real);
      await expect.poll(() => dropped).toContain(real);
      expect(dropped).not.toContain(forged);
    } finally {
      await busA.close();
      await busB.close();
      await pool.end();
      await db.drop();
    }
  });
});
