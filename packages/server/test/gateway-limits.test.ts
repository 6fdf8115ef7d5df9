/**
 * Gateway limits and budgets (issue 24 §2) through real HTTP and the official `openai` client, against a local
 * stub upstream speaking OpenAI's wire format: requests per minute exact under 50 concurrent calls, tokens per
 * minute from the upstream's usage (streamed and not), monthly budgets from the price table (402), key vs org
 * (the tighter wins), Retry-After, limit changes taking effect, the UTC month boundary, tenant isolation of the
 * settings routes. Every suite runs on each counter store: the database (no REDIS_URL) on PGlite and on
 * PostgreSQL (TEST_DATABASE_URL), and Redis (REDIS_URL) when set; and a limit is one limit across two nodes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPgDatabase, type PgDatabase } from '@rampart/testing';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineName } from '../src/db/types.js';
import { utcMonth } from '../src/gateway/limits.js';
import { costMicros, priceOf } from '../src/gateway/prices.js';
import { ENGINES, startTestServer, type TestServer } from './helpers.js';

interface SeenBody {
  model: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

/** OpenAI-format stub: usage 11 + 7 on every answer; streams send it only when asked (include_usage). */
function startUpstream(): Promise<{ server: Server; port: number; seen: SeenBody[] }> {
  const seen: SeenBody[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as SeenBody;
      seen.push(body);
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (extra: object) =>
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: body.model, ...extra })}\n\n`;
        res.write(chunk({ choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }));
        res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
        if (body.stream_options?.include_usage) {
          // Split mid-object across two writes: the gateway must still read it.
          const u = chunk({ choices: [], usage: USAGE });
          res.write(u.slice(0, 40));
          setTimeout(() => {
            res.write(u.slice(40));
            res.end('data: [DONE]\n\n');
          }, 5);
        } else res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: USAGE,
        }),
      );
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port, seen })),
  );
}

describe('price table', () => {
  it('provider prices win, then defaults by exact id, then by the longest dated prefix; unknown is null', () => {
    expect(priceOf('gpt-4o', undefined)).toEqual({ input: 2.5, output: 10 });
    expect(priceOf('gpt-4o-mini-2024-07-18', undefined)).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf('gpt-4o-2024-08-06', undefined)).toEqual({ input: 2.5, output: 10 });
    expect(priceOf('gpt-4o', { 'gpt-4o': { input: 1, output: 1 } })).toEqual({ input: 1, output: 1 });
    expect(priceOf('my-local-model', undefined)).toBeNull();
    expect(priceOf('constructor', undefined)).toBeNull();
    expect(priceOf('toString', {})).toBeNull();
  });

  it('costs micro-USD, rounded up, without float noise', () => {
    expect(costMicros({ input: 1, output: 2 }, 11, 7)).toBe(25);
    expect(costMicros({ input: 0.15, output: 0.6 }, 11, 7)).toBe(6);
    expect(costMicros({ input: 0.1, output: 0 }, 10, 0)).toBe(1);
    expect(costMicros(null, 1000, 1000)).toBe(0);
  });

  it('the month is the UTC calendar month', () => {
    const m = utcMonth(Date.UTC(2026, 11, 31, 23, 59, 59));
    expect(m.start.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(m.next.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(m.label).toBe('2026-12');
  });
});

const REDIS_URL = process.env.REDIS_URL;
/**
 * Counters in the database are SQL: both engines. Counters in Redis are the same code on either engine (only the
 * usage rows, covered above on both, go to the database): once, on PostgreSQL when there is one, as in production.
 */
const COMBOS: Array<{ engine: EngineName; store: 'database' | 'redis' }> = [
  ...ENGINES.map((engine) => ({ engine, store: 'database' as const })),
  ...(REDIS_URL ? [{ engine: ENGINES[ENGINES.length - 1] as EngineName, store: 'redis' as const }] : []),
];

describe.each(COMBOS)('gateway limits ($engine, counters in $store)', ({ engine, store }) => {
  let srv: TestServer;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let session: string;
  let otherSession: string;
  let n = 0;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${srv.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
  };
  const api = (method: string, path: string, body?: unknown) => call(session, method, path, body);

  const signup = async (email: string) => {
    const s = await fetch(`${srv.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'gateway password 1', orgName: 'Limits Org' }),
    });
    return (await s.json()) as { token: string; orgId: string };
  };

  /** A fresh org with the stub provider, so each test's counters start at zero. */
  const newOrg = async (settings?: Record<string, unknown>): Promise<string> => {
    const o = await api('POST', '/api/orgs', { name: `limits ${++n}` });
    expect(o.status).toBe(201);
    const orgId = o.body.orgId as string;
    const put = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: 'sk-upstream-0123456789',
      models: ['m-priced', 'gpt-4o-mini', 'm-unpriced'],
      prices: { 'm-priced': { input: 1, output: 2 } },
    });
    expect(put.status).toBe(200);
    expect(put.body.prices).toEqual({ 'm-priced': { input: 1, output: 2 } });
    if (settings) expect((await api('PATCH', `/api/orgs/${orgId}/settings`, settings)).status).toBe(200);
    return orgId;
  };
  const newKey = async (orgId: string, limits: Record<string, unknown> = {}) => {
    const k = await api('POST', `/api/orgs/${orgId}/api-keys`, { name: `k${++n}`, ...limits });
    expect(k.status).toBe(201);
    return { id: k.body.id as string, key: k.body.key as string };
  };
  const chat = (key: string, model = 'm-priced') =>
    call(key, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${srv.baseUrl}/v1`, maxRetries: 0 });
  const burst = async (key: string, count = 50) => {
    const before = up.seen.length;
    const all = await Promise.all(Array.from({ length: count }, () => chat(key)));
    return { all, ok: all.filter((r) => r.status === 200).length, upstream: up.seen.length - before };
  };
  const usageRows = async (orgId: string) => {
    await srv.rampart.services.limits.flush();
    return srv.rampart.services.db.org(orgId, (q) =>
      q.query<{ api_key_id: string; prompt_tokens: string; cost_micros: string; status: number }>(
        'SELECT api_key_id, prompt_tokens::text, cost_micros::text, status FROM gateway_usage WHERE org_id = $1 ORDER BY id',
        [orgId],
      ),
    );
  };

  beforeAll(async () => {
    up = await startUpstream();
    srv = await startTestServer(engine, {
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      ...(store === 'redis' ? { REDIS_URL: REDIS_URL as string } : {}),
    });
    expect(srv.rampart.services.limits.store).toBe(store);
    session = (await signup(`limits-${engine}-${store}@example.com`)).token;
    otherSession = (await signup(`limits-other-${engine}-${store}@example.com`)).token;
  });
  afterAll(async () => {
    await srv?.close();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('requests per minute: of 50 concurrent calls exactly the limit pass, the rest get 429 with Retry-After', async () => {
    const orgId = await newOrg();
    const k = await newKey(orgId, { requestsPerMinute: 10 });
    const { all, ok, upstream } = await burst(k.key);
    expect(ok).toBe(10);
    expect(upstream).toBe(10);
    const refused = all.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(40);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body).toMatchObject({ error: 'rate_limited', limit: 'requestsPerMinute', scope: 'key' });
      const after = Number(r.headers.get('retry-after'));
      expect(after).toBeGreaterThanOrEqual(1);
      expect(after).toBeLessThanOrEqual(60);
    }
    // Refused calls are not counted as calls: only the 10 admitted ones have usage rows.
    expect((await usageRows(orgId)).rows).toHaveLength(10);
  });

  it("the same limits hold on /v1/embeddings and /v1/messages (refusals in each route's error shape)", async () => {
    const orgId = await newOrg();
    const put = await api('PUT', `/api/orgs/${orgId}/providers/stub-anthropic`, {
      baseUrl: `http://127.0.0.1:${up.port}`,
      apiKey: 'sk-ant-upstream-0123456789',
      models: ['claude-stub'],
      kind: 'anthropic',
    });
    expect(put.status).toBe(200);
    const ek = await newKey(orgId, { requestsPerMinute: 3 });
    const embeds = await Promise.all(
      Array.from({ length: 6 }, () =>
        call(ek.key, 'POST', '/v1/embeddings', { model: 'm-priced', input: 'hi' }),
      ),
    );
    expect(embeds.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of embeds.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(429);
      expect(r.body).toMatchObject({ error: 'rate_limited', limit: 'requestsPerMinute', scope: 'key' });
    }
    const mk = await newKey(orgId, { requestsPerMinute: 2 });
    const messages = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(mk.key, 'POST', '/v1/messages', {
          model: 'claude-stub',
          max_tokens: 16,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ),
    );
    expect(messages.filter((r) => r.status === 200)).toHaveLength(2);
    for (const r of messages.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(r.body).toMatchObject({ type: 'error', error: { details: { error_code: 'rate_limited' } } });
    }
  });

  it('an org limit binds all its keys together, and the tighter of key and org wins', async () => {
    const orgId = await newOrg({ requestsPerMinute: 7 });
    const loose = await newKey(orgId, { requestsPerMinute: 20 });
    const r1 = await burst(loose.key);
    expect(r1.ok).toBe(7);
    expect(r1.all.find((r) => r.status === 429)?.body).toMatchObject({ scope: 'org' });
    const other = await newKey(orgId);
    expect((await chat(other.key)).status).toBe(429); // the org's minute is used up, whichever key

    const org2 = await newOrg({ requestsPerMinute: 20 });
    const tight = await newKey(org2, { requestsPerMinute: 3 });
    const r2 = await burst(tight.key);
    expect(r2.ok).toBe(3);
    expect(r2.all.find((r) => r.status === 429)?.body).toMatchObject({ scope: 'key' });
    // The key's refusals took nothing from the org: another key of the org still has 17.
    const sibling = await newKey(org2);
    expect((await burst(sibling.key, 30)).ok).toBe(17);
  });

  it('tokens per minute from the upstream usage, non-streamed', async () => {
    const orgId = await newOrg();
    const k = await newKey(orgId, { tokensPerMinute: 30 });
    expect((await chat(k.key)).status).toBe(200); // 0 used → 18
    expect((await chat(k.key)).status).toBe(200); // 18 < 30 → 36
    const third = await chat(k.key);
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ error: 'rate_limited', limit: 'tokensPerMinute', scope: 'key' });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('tokens per minute from the usage chunk of streams (asked for by the gateway), official client', async () => {
    const orgId = await newOrg({ tokensPerMinute: 30 });
    const k = await newKey(orgId);
    for (let i = 0; i < 2; i++) {
      const stream = await client(k.key).chat.completions.create({
        model: 'm-priced',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      expect(text).toBe('Hi');
      expect(up.seen.at(-1)?.stream_options?.include_usage).toBe(true);
    }
    const err = await client(k.key)
      .chat.completions.create({
        model: 'm-priced',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toMatch(/^\d+$/);
    const rows = (await usageRows(orgId)).rows;
    expect(rows.map((r) => r.prompt_tokens)).toEqual(['11', '11']);
  });

  it('monthly budget: 402 budget_exceeded once the spend reaches it; the month boundary renews it', async () => {
    const orgId = await newOrg();
    // m-priced: 11 × $1/M + 7 × $2/M = 25 micro-USD a call; the budget is 50 micro-USD.
    const k = await newKey(orgId, { monthlyBudgetUsd: 0.00005 });
    const before = up.seen.length;
    expect((await chat(k.key)).status).toBe(200);
    expect((await chat(k.key)).status).toBe(200);
    const over = await chat(k.key);
    expect(over.status).toBe(402);
    expect(over.body).toMatchObject({ error: 'budget_exceeded', limit: 'monthlyBudgetUsd', scope: 'key' });
    expect(up.seen.length - before).toBe(2);
    expect((await usageRows(orgId)).rows.map((r) => r.cost_micros)).toEqual(['25', '25']);

    const limits = srv.rampart.services.limits;
    const next = utcMonth(Date.now()).next.getTime();
    limits.now = () => next + 1_000;
    try {
      expect((await chat(k.key)).status).toBe(200);
    } finally {
      limits.now = Date.now;
    }
  });

  it('an org budget counts every key, with the default price of a well-known model', async () => {
    // gpt-4o-mini (defaults): 11 × 0.15 + 7 × 0.6 = 5.85 → 6 micro-USD a call; 3 calls reach 18 ≥ 15.
    const orgId = await newOrg({ monthlyBudgetUsd: 0.000015 });
    const a = await newKey(orgId);
    const b = await newKey(orgId);
    expect((await chat(a.key, 'gpt-4o-mini')).status).toBe(200);
    expect((await chat(b.key, 'gpt-4o-mini')).status).toBe(200);
    expect((await chat(a.key, 'gpt-4o-mini')).status).toBe(200);
    const over = await chat(b.key, 'gpt-4o-mini');
    expect(over.status).toBe(402);
    expect(over.body).toMatchObject({ error: 'budget_exceeded', scope: 'org' });
    const s = await api('GET', `/api/orgs/${orgId}/settings`);
    expect(s.body).toMatchObject({
      monthlyBudgetUsd: 0.000015,
      requestsPerMinute: null,
      tokensPerMinute: null,
    });
  });

  it('a model without a price: free without a budget, refused (400) under one', async () => {
    const orgId = await newOrg();
    const free = await newKey(orgId);
    expect((await chat(free.key, 'm-unpriced')).status).toBe(200);
    expect((await usageRows(orgId)).rows.map((r) => r.cost_micros)).toEqual(['0']);
    const budgeted = await newKey(orgId, { monthlyBudgetUsd: 5 });
    const r = await chat(budgeted.key, 'm-unpriced');
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('validation_failed');
  });

  it('a limit change takes effect at once, on the key and on the org', async () => {
    const orgId = await newOrg();
    const k = await newKey(orgId, { requestsPerMinute: 1 });
    expect((await chat(k.key)).status).toBe(200);
    expect((await chat(k.key)).status).toBe(429);
    const upd = await api('PATCH', `/api/orgs/${orgId}/api-keys/${k.id}`, { requestsPerMinute: null });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ id: k.id, requestsPerMinute: null, tokensPerMinute: null });
    expect((await chat(k.key)).status).toBe(200);
    expect((await api('PATCH', `/api/orgs/${orgId}/api-keys/${k.id}`, { monthlyBudgetUsd: 0 })).status).toBe(
      200,
    );
    expect((await chat(k.key)).status).toBe(402);
    const listed = await api('GET', `/api/orgs/${orgId}/api-keys`);
    expect((listed.body.keys as Array<Record<string, unknown>>).find((x) => x.id === k.id)).toMatchObject({
      monthlyBudgetUsd: 0,
    });
    expect(
      (await api('PATCH', `/api/orgs/${orgId}/api-keys/${k.id}`, { monthlyBudgetUsd: null })).status,
    ).toBe(200);
    expect((await chat(k.key)).status).toBe(200);
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { requestsPerMinute: 0 })).status).toBe(200);
    const blocked = await chat(k.key);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ scope: 'org' });
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { requestsPerMinute: null })).status).toBe(200);
    expect((await chat(k.key)).status).toBe(200);
    // Each change is audited, under names the audit's secret-key guard accepts.
    const updated = await api('GET', `/api/orgs/${orgId}/audit?action=api_key.updated&limit=10`);
    expect((updated.body.entries as Array<{ meta: unknown }>).map((e) => e.meta)).toEqual(
      expect.arrayContaining([{ rpm: null }, { monthlyBudgetUsd: 0 }, { monthlyBudgetUsd: null }]),
    );
    const settings = await api('GET', `/api/orgs/${orgId}/audit?action=settings.updated&limit=10`);
    expect((settings.body.entries as Array<{ meta: unknown }>).map((e) => e.meta)).toEqual(
      expect.arrayContaining([{ changes: { rpm: 0 } }, { changes: { rpm: null } }]),
    );
  });

  it('bad limit values are 400 validation_failed; another org’s key id is 404; a stranger is refused', async () => {
    const orgId = await newOrg();
    const k = await newKey(orgId);
    for (const body of [
      { requestsPerMinute: -1 },
      { tokensPerMinute: 1.5 },
      { monthlyBudgetUsd: 'ten' },
      {},
    ]) {
      const r = await api('PATCH', `/api/orgs/${orgId}/api-keys/${k.id}`, body);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('validation_failed');
    }
    expect((await api('PATCH', `/api/orgs/${orgId}/settings`, { monthlyBudgetUsd: -1 })).status).toBe(400);
    expect(
      (await api('POST', `/api/orgs/${orgId}/api-keys`, { name: 'x', requestsPerMinute: -5 })).status,
    ).toBe(400);
    const bad = await api('PUT', `/api/orgs/${orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: 'sk-x',
      prices: { m: { input: -1, output: 1 } },
    });
    expect(bad.status).toBe(400);

    // Another org of the same owner: its key id under this org is not found, and nothing changed.
    const org2 = await newOrg();
    const k2 = await newKey(org2, { requestsPerMinute: 5 });
    const cross = await api('PATCH', `/api/orgs/${orgId}/api-keys/${k2.id}`, { requestsPerMinute: null });
    expect(cross.status).toBe(404);
    expect(cross.body.error).toBe('not_found');
    const still = await api('GET', `/api/orgs/${org2}/api-keys`);
    expect((still.body.keys as Array<Record<string, unknown>>)[0]).toMatchObject({ requestsPerMinute: 5 });
    // A signed-in stranger cannot change this org's key at all.
    const stranger = await call(otherSession, 'PATCH', `/api/orgs/${orgId}/api-keys/${k.id}`, {
      requestsPerMinute: 1,
    });
    expect([403, 404]).toContain(stranger.status);
  });

  it.runIf(store === 'redis')('a spend counter Redis lost is rebuilt from the usage rows', async () => {
    const orgId = await newOrg();
    const k = await newKey(orgId, { monthlyBudgetUsd: 0.00005 });
    expect((await chat(k.key)).status).toBe(200);
    expect((await chat(k.key)).status).toBe(200);
    const redis = new Redis(REDIS_URL as string);
    try {
      const deleted = await redis.del(`rampart:gw:${orgId}:${k.id}:spend:${utcMonth(Date.now()).label}`);
      expect(deleted).toBe(1);
    } finally {
      redis.disconnect();
    }
    expect((await chat(k.key)).status).toBe(402);
  });
});

const DB = process.env.TEST_DATABASE_URL;
const NODE_STORES: Array<'database' | 'redis'> = ['database', ...(REDIS_URL ? (['redis'] as const) : [])];

describe.skipIf(!DB).each(NODE_STORES)('two nodes on one PostgreSQL (counters in %s)', (store) => {
  let pgDb: PgDatabase;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  const nodes: TestServer[] = [];

  beforeAll(async () => {
    up = await startUpstream();
    pgDb = await createPgDatabase();
    const env = {
      DATABASE_URL: pgDb.url,
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      ...(store === 'redis' ? { REDIS_URL: REDIS_URL as string } : {}),
    };
    nodes.push(await startTestServer('postgres', env));
    nodes.push(await startTestServer('postgres', env));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
    await pgDb?.drop();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('a key limit is one limit across nodes: of 50 calls spread over both, exactly the limit pass', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const s = await fetch(`${a.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `two-nodes-${store}@example.com`,
        password: 'gateway password 1',
        orgName: 'Two',
      }),
    });
    const { token, orgId } = (await s.json()) as { token: string; orgId: string };
    const admin = (method: string, path: string, body: unknown) =>
      fetch(`${a.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (
        await admin('PUT', `/api/orgs/${orgId}/providers/stub`, {
          baseUrl: `http://127.0.0.1:${up.port}/v1`,
          apiKey: 'sk-upstream-0123456789',
          models: ['m-priced'],
        })
      ).status,
    ).toBe(200);
    const created = await admin('POST', `/api/orgs/${orgId}/api-keys`, { name: 'k', requestsPerMinute: 12 });
    const { key } = (await created.json()) as { key: string };
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await fetch(`${(i % 2 ? a : b).baseUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm-priced', messages: [{ role: 'user', content: 'hi' }] }),
        });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    expect(statuses.filter((x) => x === 200)).toHaveLength(12);
    expect(statuses.filter((x) => x === 429)).toHaveLength(38);
  });
});
