/**
 * Usage you can see (issue 24 §4): GET /api/orgs/:orgId/usage after real calls through the gateway to a local
 * OpenAI-format stub, on PGlite and PostgreSQL. Each groupBy, spend from the price table, errors counted,
 * p50/p95 from the hourly rollup's histogram within one bucket of percentile_cont on the raw usage rows, the
 * hour-aligned window and its validation, tenant isolation, roles, and the CSV export with its escaping.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addMemberWithRole } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS, latencyBucket } from '../src/gateway/usage.js';
import { ENGINES, startTestServer } from './helpers.js';

/** Stub: `delay:N` in the last message waits N ms; `status:N` answers that status. Usage 11 + 7. */
function startUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }> };
      const text = body.messages.at(-1)?.content ?? '';
      const delay = Number(/delay:(\d+)/.exec(text)?.[1] ?? 0);
      const status = Number(/status:(\d+)/.exec(text)?.[1] ?? 200);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        if (status !== 200) {
          res.end(JSON.stringify({ error: { message: 'stub failure', type: 'server_error' } }));
          return;
        }
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
          }),
        );
      }, delay);
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port })),
  );
}

interface Group {
  group: string | null;
  name: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  spendUsd: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}
interface Report {
  from: string;
  to: string;
  groupBy: string;
  groups: Group[];
  totals: Omit<Group, 'group' | 'name'>;
}

const D1 = Date.UTC(2026, 10, 3, 10, 30);
const D2 = Date.UTC(2026, 10, 4, 11, 15);
const WINDOW = 'from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:00Z';

describe.each(ENGINES)('gateway usage (%s)', (engine) => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let owner: { token: string; orgId: string };
  let other: { token: string; orgId: string };
  let k1: { id: string; key: string };
  let k2: { id: string; key: string };
  let providerId: string;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${srv.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return {
      status: r.status,
      headers: r.headers,
      text,
      body: (r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null) as Record<
        string,
        unknown
      >,
    };
  };
  const signup = async (email: string, orgName: string) => {
    const s = await fetch(`${srv.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'gateway password 1', orgName }),
    });
    return (await s.json()) as { token: string; orgId: string };
  };
  const chat = (key: string, model: string, content = 'hi') =>
    call(key, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content }] });
  /** Calls placed at `at` (the limits writer's clock stamps the usage rows). */
  const callsAt = async (at: number, calls: Array<() => Promise<{ status: number }>>) => {
    const limits = srv.rampart.services.limits;
    limits.now = () => at;
    try {
      const res = await Promise.all(calls.map((c) => c()));
      await limits.flush();
      return res.map((r) => r.status);
    } finally {
      limits.now = Date.now;
    }
  };
  const usage = async (query: string, token = owner.token, orgId = owner.orgId) => {
    const r = await call(token, 'GET', `/api/orgs/${orgId}/usage?${query}`);
    return { ...r, body: r.body as unknown as Report & { error?: string } };
  };
  const byGroup = (r: Report) => new Map(r.groups.map((g) => [g.group, g]));

  beforeAll(async () => {
    up = await startUpstream();
    srv = await startTestServer(engine, { RAMPART_OUTBOUND_ALLOW: '127.0.0.1' });
    owner = await signup(`usage-${engine}@example.com`, 'Usage Org');
    other = await signup(`usage-other-${engine}@example.com`, 'Other Org');
    const put = await call(owner.token, 'PUT', `/api/orgs/${owner.orgId}/providers/stub`, {
      baseUrl: `http://127.0.0.1:${up.port}/v1`,
      apiKey: 'sk-upstream-0123456789',
      models: ['m-a', 'm-b', '=HYPERLINK("http://x")', 'm-lat'],
      prices: { 'm-a': { input: 1, output: 2 }, 'm-b': { input: 10, output: 0 } },
    });
    expect(put.status, put.text).toBe(200);
    const newKey = async (name: string) => {
      const k = await call(owner.token, 'POST', `/api/orgs/${owner.orgId}/api-keys`, { name });
      expect(k.status, k.text).toBe(201);
      return { id: k.body.id as string, key: k.body.key as string };
    };
    k1 = await newKey('first key');
    k2 = await newKey('=cmd|"/c calc"');
    // Day 1: k1 three m-a calls (25 µUSD each: 11·1 + 7·2). Day 2: k2 two m-b calls (110 µUSD each), one m-a
    // call the upstream fails with 500 and one with 429 (errors, no usage, no cost).
    expect(
      await callsAt(
        D1,
        [1, 2, 3].map(() => () => chat(k1.key, 'm-a')),
      ),
    ).toEqual([200, 200, 200]);
    const d2 = await callsAt(D2, [
      () => chat(k2.key, 'm-b'),
      () => chat(k2.key, 'm-b'),
      () => chat(k2.key, 'm-a', 'status:500'),
      () => chat(k2.key, 'm-a', 'status:429'),
    ]);
    expect(d2.slice(0, 2)).toEqual([200, 200]);
    expect(d2.slice(2).every((s) => s >= 400)).toBe(true);
    const rows = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ id: string }>('SELECT id FROM llm_providers WHERE org_id = $1', [owner.orgId]),
    );
    providerId = rows.rows[0]?.id as string;
  });
  afterAll(async () => {
    await srv?.close();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('groupBy=key: requests, tokens, spend, errors and the key names', async () => {
    const r = await usage(`${WINDOW}&groupBy=key`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      groupBy: 'key',
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-08T00:00:00.000Z',
    });
    const g = byGroup(r.body);
    expect(g.get(k1.id)).toMatchObject({
      name: 'first key',
      requests: 3,
      promptTokens: 33,
      completionTokens: 21,
      errors: 0,
    });
    expect(g.get(k1.id)?.spendUsd).toBeCloseTo(75e-6, 12);
    expect(g.get(k2.id)).toMatchObject({ name: '=cmd|"/c calc"', requests: 4, promptTokens: 22, errors: 2 });
    expect(g.get(k2.id)?.spendUsd).toBeCloseTo(220e-6, 12);
    expect(r.body.groups.map((x) => x.group)).toEqual([k2.id, k1.id]); // most requests first
    expect(r.body.totals).toMatchObject({ requests: 7, promptTokens: 55, completionTokens: 35, errors: 2 });
    expect(r.body.totals.spendUsd).toBeCloseTo(295e-6, 12);
  });

  it('groupBy=model, provider and day', async () => {
    const m = byGroup((await usage(`${WINDOW}&groupBy=model`)).body);
    expect(m.get('m-a')).toMatchObject({ requests: 5, errors: 2, name: null });
    expect(m.get('m-b')).toMatchObject({ requests: 2, errors: 0 });
    expect(m.get('m-b')?.spendUsd).toBeCloseTo(220e-6, 12);
    const p = (await usage(`${WINDOW}&groupBy=provider`)).body;
    expect(p.groups).toHaveLength(1);
    expect(p.groups[0]).toMatchObject({ group: providerId, name: 'stub', requests: 7, errors: 2 });
    const d = (await usage(`${WINDOW}&groupBy=day`)).body;
    expect(d.groups.map((x) => [x.group, x.requests, x.errors])).toEqual([
      ['2026-11-03', 3, 0],
      ['2026-11-04', 4, 2],
    ]);
  });

  it('the hourly and daily rollups hold the same sums and histograms', async () => {
    const sums = (table: string) =>
      srv.rampart.services.db.org(owner.orgId, (q) =>
        q.query<{ r: string; c: string; e: string; h: string }>(
          `SELECT sum(requests)::text AS r, sum(cost_micros)::text AS c, sum(errors)::text AS e,
                  (SELECT array_agg(s ORDER BY i)::text FROM (SELECT i, sum(x) AS s FROM ${table}, unnest(latency_hist) WITH ORDINALITY AS u(x, i) GROUP BY i) AS b) AS h
             FROM ${table}`,
        ),
      );
    const hourly = (await sums('gateway_usage_hourly')).rows[0];
    expect(Number(hourly?.r)).toBeGreaterThan(0);
    expect((await sums('gateway_usage_daily')).rows[0]).toEqual(hourly);
  });

  it("migration 0028's backfill builds the same rollups from the raw rows as the writer did", async () => {
    // The owner org's raw rows, copied into a fresh org, then the migration's own backfill statements run there
    // (as the app role, so row-level security confines them to that org).
    const created = await call(owner.token, 'POST', '/api/orgs', { name: 'Backfill Org' });
    expect(created.status).toBe(201);
    const copy = created.body.orgId as string;
    const db = srv.rampart.services.db;
    const raw = await db.org(owner.orgId, (q) =>
      q.query<Record<string, unknown>>(
        `SELECT api_key_id, model, provider_id, prompt_tokens, completion_tokens, cost_micros, status, latency_ms, at
           FROM gateway_usage WHERE org_id = $1`,
        [owner.orgId],
      ),
    );
    expect(raw.rows.length).toBeGreaterThan(5);
    const col = (k: string) => raw.rows.map((r) => r[k]);
    const migration = readFileSync(
      new URL('../migrations/0028_gateway_usage_rollup.sql', import.meta.url),
      'utf8',
    );
    const backfills = [
      ...migration.matchAll(/INSERT INTO gateway_usage_(?:hourly|daily)[\s\S]*?per_group;/g),
    ].map((m) => m[0]);
    expect(backfills).toHaveLength(2);
    await db.org(copy, async (q) => {
      await q.query(
        `INSERT INTO gateway_usage (org_id, api_key_id, model, provider_id, prompt_tokens, completion_tokens,
                                    cost_micros, status, latency_ms, at)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::bigint[], $6::bigint[], $7::bigint[],
                                  $8::int[], $9::int[], $10::timestamptz[])`,
        [
          copy,
          ...[
            'api_key_id',
            'model',
            'provider_id',
            'prompt_tokens',
            'completion_tokens',
            'cost_micros',
            'status',
            'latency_ms',
            'at',
          ].map(col),
        ],
      );
      for (const sql of backfills) await q.query(sql);
    });
    for (const [table, column] of [
      ['gateway_usage_hourly', 'hour'],
      ['gateway_usage_daily', 'day'],
    ]) {
      const read = (orgId: string) =>
        db
          .org(orgId, (q) =>
            q.query(
              `SELECT ${column}, api_key_id, model, provider_id, requests::text, prompt_tokens::text,
                      completion_tokens::text, cost_micros::text, errors::text, latency_hist::text
                 FROM ${table} ORDER BY ${column}, api_key_id, model, provider_id`,
            ),
          )
          .then((r) => r.rows);
      const written = await read(owner.orgId);
      expect(written.length).toBeGreaterThan(0);
      expect(await read(copy)).toEqual(written);
    }
  });

  it('the rollup agrees with the raw usage rows', async () => {
    const raw = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ n: string; cost: string; errors: string }>(
        `SELECT count(*)::text AS n, sum(cost_micros)::text AS cost,
                count(*) FILTER (WHERE status >= 400 OR status = 0)::text AS errors
           FROM gateway_usage WHERE org_id = $1 AND at >= '2026-11-01' AND at < '2026-11-08'`,
        [owner.orgId],
      ),
    );
    const t = (await usage(`${WINDOW}&groupBy=day`)).body.totals;
    expect(t.requests).toBe(Number(raw.rows[0]?.n));
    expect(t.errors).toBe(Number(raw.rows[0]?.errors));
    expect(Math.round(t.spendUsd * 1e6)).toBe(Number(raw.rows[0]?.cost));
  });

  it('the window is applied at hour granularity, and echoed', async () => {
    // 10:45–10:50 on day 1 widens to 10:00–11:00 and holds the three 10:30 calls; 11:00–12:00 holds none.
    const r = await usage('from=2026-11-03T10:45:00Z&to=2026-11-03T10:50:00%2B00:00&groupBy=day');
    expect(r.status, r.text).toBe(200);
    expect(r.body.from).toBe('2026-11-03T10:00:00.000Z');
    expect(r.body.to).toBe('2026-11-03T11:00:00.000Z');
    expect(r.body.totals.requests).toBe(3);
    // Whole days from the daily rollup, the edges from the hourly one: Nov 3 11:00 → Nov 4 12:00 holds only
    // day 2's calls (11:15); Nov 2 20:00 → Nov 5 01:00 holds both days whole.
    const edge = await usage('from=2026-11-03T11:00:00Z&to=2026-11-04T12:00:00Z&groupBy=key');
    expect(edge.body.groups.map((g) => [g.group, g.requests])).toEqual([[k2.id, 4]]);
    const whole = await usage('from=2026-11-02T20:00:00Z&to=2026-11-05T01:00:00Z&groupBy=day');
    expect(whole.body.groups.map((g) => [g.group, g.requests])).toEqual([
      ['2026-11-03', 3],
      ['2026-11-04', 4],
    ]);
    const edges = await usage('from=2026-11-03T10:00:00Z&to=2026-11-04T11:30:00Z&groupBy=day');
    expect(edges.body.totals.requests).toBe(7);
    const after = await usage('from=2026-11-03T11:00:00Z&to=2026-11-03T12:00:00Z');
    expect(after.body.totals.requests).toBe(0);
    expect(after.body.groups).toEqual([]);
    expect(after.body.totals.p50Ms).toBeNull();
    // Default: the last 30 days up to now (rounded up to the hour).
    const def = await usage('');
    expect(def.status).toBe(200);
    const span = Date.parse(def.body.to) - Date.parse(def.body.from);
    expect([30 * 86_400_000, 30 * 86_400_000 + 3_600_000]).toContain(span);
    expect(Date.parse(def.body.to) % 3_600_000).toBe(0);
    expect(Date.parse(def.body.to)).toBeGreaterThanOrEqual(Date.now() - 1000);
    expect(def.body.groupBy).toBe('day');
  });

  it.each([
    ['from=yesterday', '/from'],
    ['to=2026-13-45T00:00:00Z', '/to'],
    ['from=2026-11-01T00:00:00', '/from'], // no offset
    ['from=2026-11-05T00:00:00Z&to=2026-11-05T00:00:00Z', '/to'],
    ['from=2026-11-05T00:00:00Z&to=2026-11-04T00:00:00Z', '/to'],
    ['from=2025-01-01T00:00:00Z&to=2026-02-01T00:00:00Z', '/from'],
  ])('window %s → 400 validation_failed at %s', async (q, path) => {
    const r = await usage(q);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toBe('validation_failed');
    expect(JSON.stringify(r.body)).toContain(path);
  });

  it.each(['groupBy=team', 'format=xml', 'limit=5'])('%s → 400 validation_failed', async (q) => {
    const r = await usage(q);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('validation_failed');
  });

  it('p50 and p95 are within one histogram bucket of percentile_cont on the raw rows', async () => {
    const at = Date.UTC(2026, 10, 6, 9, 0);
    const delays = Array.from({ length: 40 }, (_, i) => 2 + i * 6);
    const statuses = await callsAt(
      at,
      delays.map((d) => () => chat(k1.key, 'm-lat', `delay:${d}`)),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    const exact = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ p50: number; p95: number }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
           FROM gateway_usage WHERE org_id = $1 AND model = 'm-lat'`,
        [owner.orgId],
      ),
    );
    const g = byGroup((await usage(`${WINDOW}&groupBy=model`)).body).get('m-lat');
    expect(g?.requests).toBe(40);
    for (const [est, truth] of [
      [g?.p50Ms, exact.rows[0]?.p50],
      [g?.p95Ms, exact.rows[0]?.p95],
    ] as const) {
      const t = Number(truth);
      expect(t).toBeGreaterThan(0);
      // One bucket: 1 ms below 8 ms, else at most a quarter of its lower bound.
      expect(Math.abs(Number(est) - t)).toBeLessThanOrEqual(Math.max(1, t * 0.25));
    }
    expect(Number(g?.p95Ms)).toBeGreaterThan(Number(g?.p50Ms));
  });

  it('the SQL bucket function and the writer agree on every bound', async () => {
    const probes = [0, 1, 7, 8, 9, 10, 11, ...LATENCY_BOUNDS.flatMap((b) => [b - 1, b, b + 1]), 5_000_000];
    const r = await srv.rampart.services.db.org(owner.orgId, (q) =>
      q.query<{ b: number }>(
        'SELECT rampart_latency_bucket(x) AS b FROM unnest($1::int[]) WITH ORDINALITY AS u(x, i) ORDER BY i',
        [probes],
      ),
    );
    expect(r.rows.map((x) => x.b)).toEqual(probes.map(latencyBucket));
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(2 ** 20 + 5)).toBe(LATENCY_BOUNDS.length);
  });

  it("another org's id → 404; a non-member cannot read usage", async () => {
    const r = await usage(WINDOW, other.token, owner.orgId);
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('not_found');
    // Their own org has no usage of ours.
    const own = await usage(`${WINDOW}&groupBy=key`, other.token, other.orgId);
    expect(own.status).toBe(200);
    expect(own.body.groups).toEqual([]);
  });

  it('members read usage with names; viewers read it without key or provider names', async () => {
    const member = await addMemberWithRole(srv, owner.token, owner.orgId, 'member');
    const viewer = await addMemberWithRole(srv, owner.token, owner.orgId, 'viewer');
    const m = await usage(`${WINDOW}&groupBy=key`, member.token);
    expect(m.status).toBe(200);
    expect(byGroup(m.body).get(k1.id)?.name).toBe('first key');
    const v = await usage(`${WINDOW}&groupBy=key`, viewer.token);
    expect(v.status).toBe(200);
    expect(byGroup(v.body).get(k1.id)).toEqual({ ...byGroup(m.body).get(k1.id), name: null });
    const vp = await usage(`${WINDOW}&groupBy=provider`, viewer.token);
    expect(vp.body.groups[0]).toMatchObject({ group: providerId, name: null });
  });

  it('CSV: a header row, one line per group, formula cells defused', async () => {
    await callsAt(D1, [() => chat(k2.key, '=HYPERLINK("http://x")')]);
    const r = await usage(`${WINDOW}&groupBy=model&format=csv`);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    expect(r.headers.get('content-disposition')).toContain('attachment');
    const lines = r.text.split('\r\n');
    expect(lines[0]).toBe('group,name,requests,promptTokens,completionTokens,spendUsd,errors,p50Ms,p95Ms');
    expect(lines.at(-1)).toBe('');
    expect(lines.filter((l) => l.startsWith(`"'=HYPERLINK(""http://x"")",,1,11,7,0,0,`))).toHaveLength(1);
    const ma = lines.find((l) => l.startsWith('m-a,'));
    expect(ma?.split(',').slice(0, 7)).toEqual(['m-a', '', '5', '33', '21', '0.000075', '2']);
    const keys = await usage(`${WINDOW}&groupBy=key&format=csv`);
    expect(keys.text).toContain(`${k2.id},"'=cmd|""/c calc""",`);
    expect(keys.text.split('\r\n')).toHaveLength(2 + 2);
  });

  it("a revoked key keeps its name; a deleted provider's usage stays, without a name", async () => {
    expect((await call(owner.token, 'DELETE', `/api/orgs/${owner.orgId}/api-keys/${k2.id}`)).status).toBe(
      200,
    );
    const keys = byGroup((await usage(`${WINDOW}&groupBy=key`)).body);
    expect(keys.get(k2.id)).toMatchObject({ name: '=cmd|"/c calc"', errors: 2 });
    expect((await call(owner.token, 'DELETE', `/api/orgs/${owner.orgId}/providers/stub`)).status).toBe(200);
    const p = (await usage(`${WINDOW}&groupBy=provider`)).body;
    expect(p.groups).toHaveLength(1);
    expect(p.groups[0]).toMatchObject({ group: providerId, name: null, errors: 2 });
  });
});
