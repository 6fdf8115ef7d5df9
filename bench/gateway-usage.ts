// Gateway usage (issue 24 §4): GET /api/orgs/:orgId/usage over a month of 1M calls on PostgreSQL, per groupBy,
// through HTTP, against the same report computed from the raw per-call rows (percentile_cont) in the same run.
// The rows and their hourly rollup are generated in SQL (generate_series), not through the gateway: this
// measures the read, not the writer.
// Run alone: TEST_DATABASE_URL=... node --import tsx bench/gateway-usage.ts [--full]
import { createPgDatabase, type PgDatabase, signup } from '@rampart/testing';
import pg from 'pg';
import type { Rampart } from '../packages/server/src/app.js';
import { GROUP_BYS, type GroupBy, LATENCY_BOUNDS } from '../packages/server/src/gateway/usage.js';
import { percentile } from './lib/latency.js';
import { createBenchRampart } from './lib/rampart.js';
import { runWhenMain, standaloneCommand } from './lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable, type Table } from './lib/types.js';

const TARGET_MS = 200;
const CALLS = 1_000_000;
const KEYS = 10;
const MODELS = 4;
const FROM = '2026-11-01T00:00:00Z';
/** The report's window: most of the month, with partial days at both edges (read from the hourly rollup). */
const Q_FROM = '2026-11-01T13:00:00Z';
const Q_TO = '2026-11-30T11:00:00Z';

const ms = (n: number) => `${n.toFixed(1)} ms`;

/** The baseline: the same report straight from gateway_usage, exact percentiles. */
function rawSql(groupBy: GroupBy): string {
  const g = {
    key: 'u.api_key_id::text',
    model: 'u.model',
    provider: 'u.provider_id::text',
    day: "to_char(u.at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
  }[groupBy];
  const name = {
    key: '(SELECT k.name FROM api_keys k WHERE k.id = u.api_key_id)',
    provider: '(SELECT p.name FROM llm_providers p WHERE p.id = u.provider_id)',
    model: 'NULL::text',
    day: 'NULL::text',
  }[groupBy];
  return `SELECT g, ${groupBy === 'key' || groupBy === 'provider' ? name.replaceAll('u.', 'x.') : 'NULL::text'} AS name,
                 requests, prompt, completion, cost, errors, p50, p95
            FROM (SELECT ${g} AS g, min(u.api_key_id::text)::uuid AS api_key_id, min(u.provider_id::text)::uuid AS provider_id,
                         count(*) AS requests, sum(u.prompt_tokens) AS prompt, sum(u.completion_tokens) AS completion,
                         sum(u.cost_micros) AS cost, count(*) FILTER (WHERE u.status >= 400 OR u.status = 0) AS errors,
                         percentile_cont(0.5) WITHIN GROUP (ORDER BY u.latency_ms) AS p50,
                         percentile_cont(0.95) WITHIN GROUP (ORDER BY u.latency_ms) AS p95
                    FROM gateway_usage u
                   WHERE u.org_id = $1 AND u.at >= $2 AND u.at < $3
                   GROUP BY 1) AS x`;
}

/** 1M calls spread over November 2026 for one org: 10 keys, 4 models on 2 providers, 2 % errors. */
async function generate(
  admin: pg.Client,
  orgId: string,
  keys: string[],
  providers: string[],
): Promise<number> {
  const started = performance.now();
  await admin.query(
    `INSERT INTO gateway_usage (org_id, api_key_id, model, provider_id, prompt_tokens, completion_tokens,
                                cost_micros, status, latency_ms, at)
     SELECT $1, ($2::uuid[])[k], 'model-' || m, ($3::uuid[])[1 + m / 2],
            100 + i % 900, 20 + i % 300, (100 + i % 900) + 4 * (20 + i % 300),
            CASE WHEN i % 50 = 0 THEN 500 ELSE 200 END,
            (exp(2 + 5 * random()))::int,
            timestamptz '${FROM}' + (i::float8 / ${CALLS}) * interval '30 days'
       FROM (SELECT i, 1 + floor(random() * ${KEYS})::int AS k, floor(random() * ${MODELS})::int AS m
               FROM generate_series(0::bigint, ${CALLS - 1}) AS i) AS s`,
    [orgId, keys, providers],
  );
  // The rollups as the writer keeps them, built like migration 0028's backfill.
  for (const [table, column, unit] of [
    ['gateway_usage_hourly', 'hour', 'hour'],
    ['gateway_usage_daily', 'day', 'day'],
  ] as const) {
    await admin.query(
      `INSERT INTO ${table} (org_id, ${column}, api_key_id, model, provider_id, requests, prompt_tokens,
                                       completion_tokens, cost_micros, errors, latency_hist)
     SELECT org_id, hour, api_key_id, model, provider_id, requests, p, c, cost, e,
            ARRAY(SELECT coalesce((SELECT sum(h.n) FROM unnest(bs, ns) AS h(b, n) WHERE h.b = i), 0)::integer
                    FROM generate_series(0, ${LATENCY_BOUNDS.length}) AS i ORDER BY i)
       FROM (SELECT org_id, hour, api_key_id, model, provider_id, sum(n) AS requests, sum(p) AS p, sum(c) AS c,
                    sum(cost) AS cost, sum(e) AS e, array_agg(b) AS bs, array_agg(n) AS ns
               FROM (SELECT org_id, date_trunc('${unit}', at, 'UTC') AS hour, api_key_id, model, provider_id,
                            rampart_latency_bucket(latency_ms) AS b, count(*) AS n, sum(prompt_tokens) AS p,
                            sum(completion_tokens) AS c, sum(cost_micros) AS cost,
                            count(*) FILTER (WHERE status >= 400 OR status = 0) AS e
                       FROM gateway_usage WHERE org_id = $1 GROUP BY 1, 2, 3, 4, 5, 6) AS per_bucket
              GROUP BY org_id, hour, api_key_id, model, provider_id) AS per_group`,
      [orgId],
    );
  }
  await admin.query('VACUUM ANALYZE gateway_usage');
  await admin.query('VACUUM ANALYZE gateway_usage_hourly');
  await admin.query('VACUUM ANALYZE gateway_usage_daily');
  return performance.now() - started;
}

interface Report {
  groups: Array<{ group: string | null; requests: number; p50Ms: number | null; p95Ms: number | null }>;
  totals: { requests: number };
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const base = process.env.TEST_DATABASE_URL;
  const command = `npm run bench -- gateway-usage${opts.full ? ' --full' : ''}`;
  const title = 'Gateway usage reports';
  if (!base) {
    return {
      id: 'gateway-usage',
      title,
      command,
      intro: 'Needs `TEST_DATABASE_URL`: the target is on PostgreSQL.',
      tables: [],
      notes: ['Skipped: TEST_DATABASE_URL is not set.'],
      failures: [],
    };
  }
  const runs = opts.full ? 30 : 10;
  const rawRuns = opts.full ? 3 : 1;
  const db: PgDatabase = await createPgDatabase({ base, prefix: 'rampart_bench' });
  let rampart: Rampart | undefined;
  const admin = new pg.Client({ connectionString: db.url });
  const figures: Figure[] = [];
  const rows: string[][] = [];
  const failures: string[] = [];
  let genMs = 0;
  let rollupRows = 0;
  let dailyRows = 0;
  try {
    rampart = await createBenchRampart({ DATABASE_URL: db.url });
    await rampart.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = rampart.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    const origin = `http://127.0.0.1:${addr.port}`;
    const owner = await signup(origin, { orgName: 'Usage bench' });
    const post = async (method: string, path: string, body: unknown) => {
      const r = await fetch(`${origin}${path}`, {
        method,
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return (await r.json()) as { id?: string };
    };
    const keys: string[] = [];
    for (let i = 0; i < KEYS; i++)
      keys.push((await post('POST', `/api/orgs/${owner.orgId}/api-keys`, { name: `key ${i}` })).id as string);
    for (const p of ['alpha', 'beta'])
      await post('PUT', `/api/orgs/${owner.orgId}/providers/${p}`, {
        baseUrl: 'http://127.0.0.1:9/v1',
        apiKey: 'sk-bench-0123456789',
        models: ['model-0', 'model-1', 'model-2', 'model-3'],
      });
    await admin.connect();
    const providers = (
      await admin.query<{ id: string }>('SELECT id FROM llm_providers WHERE org_id = $1 ORDER BY name', [
        owner.orgId,
      ])
    ).rows.map((r) => r.id);
    genMs = await generate(admin, owner.orgId, keys, providers);
    rollupRows = Number(
      (await admin.query<{ n: string }>('SELECT count(*)::text AS n FROM gateway_usage_hourly')).rows[0]?.n,
    );
    dailyRows = Number(
      (await admin.query<{ n: string }>('SELECT count(*)::text AS n FROM gateway_usage_daily')).rows[0]?.n,
    );

    for (const groupBy of GROUP_BYS) {
      const url = `${origin}/api/orgs/${owner.orgId}/usage?from=${Q_FROM}&to=${Q_TO}&groupBy=${groupBy}`;
      const get = async (): Promise<Report> => {
        const r = await fetch(url, { headers: { authorization: `Bearer ${owner.token}` } });
        if (r.status !== 200) throw new Error(`usage ${groupBy}: ${r.status} ${await r.text()}`);
        return (await r.json()) as Report;
      };
      const report = await get(); // warm: plan cache, pool, buffers
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await get();
        samples.push(performance.now() - t);
      }
      const raw: number[] = [];
      let exact: Array<{ g: string | null; requests: string; p50: number; p95: number }> = [];
      for (let i = 0; i < rawRuns; i++) {
        const t = performance.now();
        exact = (
          await rampart.services.db.org(owner.orgId, (q) =>
            q.query<{ g: string | null; requests: string; p50: number; p95: number }>(rawSql(groupBy), [
              owner.orgId,
              Q_FROM,
              Q_TO,
            ]),
          )
        ).rows;
        raw.push(performance.now() - t);
      }
      // Same answer: every group's count exact, percentiles within one bucket (25 %, or 1 ms).
      let worst = 0;
      for (const e of exact) {
        const ours = report.groups.find((g) => g.group === e.g);
        if (!ours || ours.requests !== Number(e.requests)) {
          failures.push(`groupBy=${groupBy}: group ${e.g} disagrees with the raw rows`);
          continue;
        }
        for (const [est, truth] of [
          [ours.p50Ms, e.p50],
          [ours.p95Ms, e.p95],
        ] as const) {
          const err = Math.abs(Number(est) - Number(truth)) / Math.max(1, Number(truth));
          worst = Math.max(worst, err);
          if (Math.abs(Number(est) - Number(truth)) > Math.max(1, Number(truth) * 0.25))
            failures.push(`groupBy=${groupBy}: percentile ${est} vs exact ${truth} is over one bucket`);
        }
      }
      const rawCalls = exact.reduce((a, e) => a + Number(e.requests), 0);
      if (report.totals.requests !== rawCalls || rawCalls < CALLS * 0.9)
        failures.push(`groupBy=${groupBy}: ${report.totals.requests} calls, the raw rows hold ${rawCalls}`);
      const sorted = Float64Array.from(samples).sort();
      const p50 = percentile(sorted, 50);
      const max = sorted[sorted.length - 1] ?? 0;
      const rawMed = percentile(Float64Array.from(raw).sort(), 50);
      rows.push([
        groupBy,
        String(report.groups.length),
        ms(p50),
        ms(max),
        ms(rawMed),
        `${(rawMed / p50).toFixed(0)}×`,
        `${(worst * 100).toFixed(1)} %`,
      ]);
      figures.push({
        figure: `Usage report, a month of 1M calls, groupBy=${groupBy} (PostgreSQL, HTTP)`,
        ours: `p50 ${ms(p50)}, max ${ms(max)}`,
        peer: `raw rows (percentile_cont, SQL only) ${ms(rawMed)}`,
        ratio: `${(rawMed / p50).toFixed(0)}× faster`,
        target: `< ${TARGET_MS} ms ${max < TARGET_MS ? '✓' : '✗'}`,
      });
      if (max >= TARGET_MS)
        failures.push(`groupBy=${groupBy}: max ${ms(max)} is over the ${TARGET_MS} ms target`);
    }
  } finally {
    await admin.end().catch(() => undefined);
    await rampart?.close();
    await db.drop();
  }
  const table: Table = {
    caption: `${CALLS.toLocaleString('en')} calls over 30 days, report window ${Q_FROM} → ${Q_TO} (one org, ${KEYS} keys, ${MODELS} models on 2 providers), ${rollupRows.toLocaleString('en')} hourly and ${dailyRows.toLocaleString('en')} daily rollup rows; ${runs} timed requests per groupBy after one warm-up`,
    header: [
      'groupBy',
      'Groups',
      'p50 (HTTP)',
      'max (HTTP)',
      'Raw rows, same report in SQL',
      'Speed-up',
      'Worst percentile error vs exact',
    ],
    rows,
  };
  return {
    id: 'gateway-usage',
    title,
    command,
    intro:
      "`GET /api/orgs/:orgId/usage` for a whole month, timed through HTTP (session auth, the org's tenant " +
      'transaction, JSON) on a throwaway PostgreSQL database holding 1M `gateway_usage` rows and their rollups ' +
      '(`gateway_usage_daily` for whole days, `gateway_usage_hourly` for the edges). The baseline, in the same run, computes the same groups from the raw rows ' +
      'with exact `percentile_cont` (SQL only, no HTTP): what the route would cost without the rollup. The bench ' +
      'also checks that both agree: counts exactly, p50/p95 within one histogram bucket.',
    tables: [figureTable('Key figures', figures), table],
    notes: [
      `Rows and rollup generated in SQL in ${(genMs / 1000).toFixed(1)} s (the rollups built like migration 0028's backfill); latencies log-uniform from 7 ms to 1.1 s, 2 % errors.`,
      'The bench process, the server and PostgreSQL share the machine.',
      `Run alone: ${standaloneCommand('bench/gateway-usage.ts', opts, true)}`,
    ],
    failures,
    headline: figures,
  };
}

await runWhenMain(import.meta.url, run);
