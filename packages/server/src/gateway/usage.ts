/**
 * Usage you can see (issue 24 §4): `GET /api/orgs/:orgId/usage` sums an org's gateway calls over a window, grouped
 * by API key, model, provider or UTC day: requests, tokens, spend, errors and approximate p50/p95 latency.
 *
 * It reads the rollups `gateway_usage_daily` (the window's whole UTC days) and `gateway_usage_hourly` (the partial
 * days at its edges), never the per-call rows (migration 0028): GatewayLimits' writer upserts one row per (hour or
 * day, key, model, provider) in the same transaction as the usage rows, with a fixed latency histogram
 * ({@link LATENCY_BOUNDS}). So the window is applied at hour granularity, and percentiles are exact to one
 * histogram bucket (at most 25 % of the value; 1 ms under 8 ms).
 */
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { csvField } from '../platform/audit/export.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import { bearer, orgParams } from '../platform/params.js';
import { can } from '../platform/permissions.js';
import type { GatewayServices } from './services.js';

/**
 * Lower bounds (ms) of the latency buckets 1..76; bucket 0 is [0, 1). 1 ms steps to 8 ms, then four linear steps
 * per power of two up to 2^20 ms; the last bucket is open. The same array as rampart_latency_bucket (0028).
 */
export const LATENCY_BOUNDS: readonly number[] = (() => {
  const b = [1, 2, 3, 4, 5, 6, 7];
  for (let k = 3; k < 20; k++) for (let j = 0; j < 4; j++) b.push(2 ** k + j * 2 ** (k - 2));
  b.push(2 ** 20);
  return b;
})();
export const LATENCY_BUCKETS = LATENCY_BOUNDS.length + 1;

/** The histogram bucket of a latency: how many lower bounds are ≤ ms (SQL's width_bucket). */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((LATENCY_BOUNDS[mid] as number) <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The p-th percentile (0..1) of a histogram, in the sense of percentile_cont: rank p·(n−1), placed linearly
 * inside the bucket that holds it. Null for an empty histogram. The open last bucket answers its lower bound.
 */
export function histogramPercentile(hist: readonly number[], p: number): number | null {
  const n = hist.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const rank = p * (n - 1);
  let before = 0;
  for (let i = 0; i < hist.length; i++) {
    const c = hist[i] as number;
    if (c > 0 && rank < before + c) {
      const lo = i === 0 ? 0 : (LATENCY_BOUNDS[i - 1] as number);
      const hi = LATENCY_BOUNDS[i];
      if (hi === undefined) return lo;
      return Math.round((lo + ((hi - lo) * (rank - before + 0.5)) / c) * 10) / 10;
    }
    before += c;
  }
  return LATENCY_BOUNDS.at(-1) as number;
}

/** One call's usage, as GatewayLimits' writer batches it. */
export interface UsageCall {
  at: Date;
  keyId: string | null;
  model: string;
  providerId: string | null;
  prompt: number;
  completion: number;
  cost: number;
  status: number;
  latencyMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The rollups: table, time column, and the length of its time bucket. */
const GRAINS = [
  { table: 'gateway_usage_hourly', column: 'hour', ms: HOUR },
  { table: 'gateway_usage_daily', column: 'day', ms: DAY },
] as const;

/**
 * Adds a batch to the rollups gateway_usage_hourly and gateway_usage_daily (migration 0028), in the usage rows'
 * transaction: one upsert row per (UTC hour or day, key, model, provider), counts and latency histograms added
 * element-wise. Rows in key order, so two nodes' writers of one org lock them in the same order.
 */
export async function upsertRollups(q: Queryable, orgId: string, batch: UsageCall[]): Promise<void> {
  for (const grain of GRAINS) await upsertGrain(q, orgId, batch, grain);
}

async function upsertGrain(
  q: Queryable,
  orgId: string,
  batch: UsageCall[],
  grain: (typeof GRAINS)[number],
): Promise<void> {
  interface Cell {
    start: Date;
    keyId: string | null;
    model: string;
    providerId: string | null;
    requests: number;
    prompt: number;
    completion: number;
    cost: number;
    errors: number;
    hist: number[];
  }
  const cells = new Map<string, Cell>();
  for (const p of batch) {
    const start = new Date(Math.floor(p.at.getTime() / grain.ms) * grain.ms);
    const model = p.model.slice(0, 200);
    const id = JSON.stringify([start.getTime(), p.keyId, model, p.providerId]);
    let c = cells.get(id);
    if (!c) {
      c = {
        start,
        keyId: p.keyId,
        model,
        providerId: p.providerId,
        requests: 0,
        prompt: 0,
        completion: 0,
        cost: 0,
        errors: 0,
        hist: new Array<number>(LATENCY_BUCKETS).fill(0),
      };
      cells.set(id, c);
    }
    c.requests++;
    c.prompt += p.prompt;
    c.completion += p.completion;
    c.cost += p.cost;
    if (p.status >= 400 || p.status === 0) c.errors++;
    const b = latencyBucket(p.latencyMs);
    c.hist[b] = (c.hist[b] as number) + 1;
  }
  const rows = [...cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  await q.query(
    `INSERT INTO ${grain.table} AS h (org_id, ${grain.column}, api_key_id, model, provider_id, requests,
                                      prompt_tokens, completion_tokens, cost_micros, errors, latency_hist)
     SELECT $1, t, k, m, p, r, pt, ct, c, e, hist::integer[]
       FROM unnest($2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::bigint[], $7::bigint[], $8::bigint[],
                   $9::bigint[], $10::bigint[], $11::text[]) AS u(t, k, m, p, r, pt, ct, c, e, hist)
     ON CONFLICT ON CONSTRAINT ${grain.table}_key DO UPDATE SET
       requests = h.requests + EXCLUDED.requests,
       prompt_tokens = h.prompt_tokens + EXCLUDED.prompt_tokens,
       completion_tokens = h.completion_tokens + EXCLUDED.completion_tokens,
       cost_micros = h.cost_micros + EXCLUDED.cost_micros,
       errors = h.errors + EXCLUDED.errors,
       latency_hist = ARRAY(SELECT a + b FROM unnest(h.latency_hist, EXCLUDED.latency_hist) WITH ORDINALITY AS x(a, b, i)
                             ORDER BY i)`,
    [
      orgId,
      rows.map((c) => c.start),
      rows.map((c) => c.keyId),
      rows.map((c) => c.model),
      rows.map((c) => c.providerId),
      rows.map((c) => c.requests),
      rows.map((c) => c.prompt),
      rows.map((c) => c.completion),
      rows.map((c) => c.cost),
      rows.map((c) => c.errors),
      rows.map((c) => `{${c.hist.join(',')}}`),
    ],
  );
}

export const GROUP_BYS = ['key', 'model', 'provider', 'day'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const DEFAULT_WINDOW_DAYS = 30;
export const MAX_WINDOW_DAYS = 366;

const invalid = (name: string, message: string) =>
  new AppError('validation_failed', message, {
    details: { issues: [{ in: 'querystring', path: `/${name}`, message }] },
  });

/**
 * The effective window: from rounded down and to rounded up to the hour (UTC), so it covers what was asked.
 * Defaults: to = now (rounded up), from = to − 30 days.
 * @throws AppError validation_failed when a bound is not ISO 8601, to ≤ from, or the span exceeds 366 days
 */
export function usageWindow(
  from: string | undefined,
  to: string | undefined,
  now: number,
): { from: Date; to: Date } {
  const parse = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(v);
    const t = ok ? Date.parse(v) : Number.NaN;
    if (!Number.isFinite(t))
      throw invalid(
        name,
        `${name} must be an ISO 8601 date or date-time with an offset (2026-11-01T00:00:00Z)`,
      );
    return t;
  };
  const t = parse('to', to) ?? now;
  const f = parse('from', from) ?? t - DEFAULT_WINDOW_DAYS * DAY;
  if (t <= f) throw invalid('to', 'to must be after from');
  if (t - f > MAX_WINDOW_DAYS * DAY)
    throw invalid('from', `The window may span at most ${MAX_WINDOW_DAYS} days`);
  return { from: new Date(Math.floor(f / HOUR) * HOUR), to: new Date(Math.ceil(t / HOUR) * HOUR) };
}

export interface UsageGroup {
  /** The key id, model, provider id or UTC day (YYYY-MM-DD); null for calls without one (no provider). */
  group: string | null;
  /** The key's or provider's name while it still exists; else null (model and day: null). */
  name: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  spendUsd: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

interface Row {
  g: string | null;
  name: string | null;
  requests: string;
  prompt: string;
  completion: string;
  cost: string;
  errors: string;
  [bucket: `h${number}`]: string;
}

const GROUP_EXPR: Record<GroupBy, string> = {
  key: 'u.api_key_id::text',
  model: 'u.model',
  provider: 'u.provider_id::text',
  day: "to_char(u.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
};
const NAME_EXPR: Record<GroupBy, string> = {
  key: '(SELECT k.name FROM api_keys k WHERE k.id = u.api_key_id AND k.org_id = u.org_id)',
  model: 'NULL::text',
  provider: '(SELECT p.name FROM llm_providers p WHERE p.id = u.provider_id AND p.org_id = u.org_id)',
  day: 'NULL::text',
};
const GROUP_COLUMN: Record<GroupBy, string> = {
  key: 'u.api_key_id',
  model: 'u.model',
  provider: 'u.provider_id',
  day: "to_char(u.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
};

const toGroup = (r: Row, hist: number[]): UsageGroup => ({
  group: r.g,
  name: r.name,
  requests: Number(r.requests),
  promptTokens: Number(r.prompt),
  completionTokens: Number(r.completion),
  spendUsd: Number(r.cost) / 1e6,
  errors: Number(r.errors),
  p50Ms: histogramPercentile(hist, 0.5),
  p95Ms: histogramPercentile(hist, 0.95),
});

/**
 * The SQL of a usage query ($1 org, $2 from, $3 to, $4–$5 the whole UTC days inside, see {@link wholeDays});
 * exported for the bench. Whole days come from the daily rollup, the partial days at the edges from the hourly
 * one. One sum per histogram bucket: summing subscripts in one pass is several times faster than unnest and
 * regrouping.
 */
export function usageSql(groupBy: GroupBy): string {
  const hist = Array.from(
    { length: LATENCY_BUCKETS },
    (_, i) => `sum(u.latency_hist[${i + 1}])::text AS h${i}`,
  ).join(', ');
  const cols =
    'org_id, api_key_id, model, provider_id, requests, prompt_tokens, completion_tokens, cost_micros, errors, latency_hist';
  return `SELECT ${GROUP_EXPR[groupBy]} AS g, ${NAME_EXPR[groupBy]} AS name,
                 sum(u.requests)::text AS requests, sum(u.prompt_tokens)::text AS prompt,
                 sum(u.completion_tokens)::text AS completion, sum(u.cost_micros)::text AS cost,
                 sum(u.errors)::text AS errors, ${hist}
            FROM (SELECT hour, ${cols} FROM gateway_usage_hourly
                   WHERE org_id = $1 AND ((hour >= $2 AND hour < $4) OR (hour >= $5 AND hour < $3))
                  UNION ALL
                  SELECT day, ${cols} FROM gateway_usage_daily
                   WHERE org_id = $1 AND day >= $4 AND day < $5) AS u
           GROUP BY u.org_id, ${GROUP_COLUMN[groupBy]}`;
}

/** The whole UTC days inside an hour-aligned window, as [start, end); none: both are `to`. */
export function wholeDays(w: { from: Date; to: Date }): { start: Date; end: Date } {
  const start = Math.ceil(w.from.getTime() / DAY) * DAY;
  const end = Math.floor(w.to.getTime() / DAY) * DAY;
  return start < end ? { start: new Date(start), end: new Date(end) } : { start: w.to, end: w.to };
}

export interface UsageReport {
  from: string;
  to: string;
  groupBy: GroupBy;
  groups: UsageGroup[];
  totals: Omit<UsageGroup, 'group' | 'name'>;
}

/** An org's usage over [from, to) (hour-aligned), grouped; days in order, else by requests (most first). */
export async function readUsage(
  db: Database,
  orgId: string,
  groupBy: GroupBy,
  window: { from: Date; to: Date },
): Promise<UsageReport> {
  const days = wholeDays(window);
  const { rows } = await db.org(orgId, (q) =>
    q.query<Row>(usageSql(groupBy), [orgId, window.from, window.to, days.start, days.end]),
  );
  const total = new Array<number>(LATENCY_BUCKETS).fill(0);
  const groups = rows.map((r) => {
    const hist = Array.from({ length: LATENCY_BUCKETS }, (_, i) => Number(r[`h${i}`] ?? 0));
    for (let i = 0; i < LATENCY_BUCKETS; i++) total[i] = (total[i] as number) + (hist[i] as number);
    return toGroup(r, hist);
  });
  groups.sort((a, b) =>
    groupBy === 'day'
      ? (a.group ?? '').localeCompare(b.group ?? '')
      : b.requests - a.requests || (a.group ?? '').localeCompare(b.group ?? ''),
  );
  const sum = (f: (g: UsageGroup) => number) => groups.reduce((a, g) => a + f(g), 0);
  const costMicros = rows.reduce((a, r) => a + Number(r.cost), 0);
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    groupBy,
    groups,
    totals: {
      requests: sum((g) => g.requests),
      promptTokens: sum((g) => g.promptTokens),
      completionTokens: sum((g) => g.completionTokens),
      spendUsd: costMicros / 1e6,
      errors: sum((g) => g.errors),
      p50Ms: histogramPercentile(total, 0.5),
      p95Ms: histogramPercentile(total, 0.95),
    },
  };
}

export const USAGE_CSV_COLUMNS = [
  'group',
  'name',
  'requests',
  'promptTokens',
  'completionTokens',
  'spendUsd',
  'errors',
  'p50Ms',
  'p95Ms',
] as const;

/** The report as CSV (RFC 4180, formula cells defused as in the audit export): a header, then one line a group. */
export function usageCsv(r: UsageReport): string {
  const lines = [USAGE_CSV_COLUMNS.join(',')];
  for (const g of r.groups) lines.push(USAGE_CSV_COLUMNS.map((c) => csvField(g[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

const usageGroup = z.object({
  group: z.string().nullable(),
  name: z.string().nullable(),
  requests: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  spendUsd: z.number(),
  errors: z.number(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
});

export function registerUsageRoutes(app: App, s: GatewayServices): void {
  app.get(
    '/api/orgs/:orgId/usage',
    {
      config: { orgAction: 'usage.read' },
      schema: {
        tags: ['gateway'],
        security: bearer,
        summary:
          'Gateway usage over a window (hour granularity), grouped by key, model, provider or day; JSON or CSV',
        params: orgParams,
        querystring: z.strictObject({
          from: z.string().max(40).optional(),
          to: z.string().max(40).optional(),
          groupBy: z.enum(GROUP_BYS).default('day'),
          format: z.enum(['json', 'csv']).default('json'),
        }),
        response: {
          200: z.object({
            from: z.string(),
            to: z.string(),
            groupBy: z.enum(GROUP_BYS),
            groups: z.array(usageGroup),
            totals: usageGroup.omit({ group: true, name: true }),
          }),
        },
      },
    },
    async (request, reply) => {
      const access = await s.auth.requireOrg(request);
      const qy = request.query;
      const window = usageWindow(qy.from, qy.to, Date.now());
      const report = await readUsage(s.db, access.orgId, qy.groupBy, window);
      // A name follows the read permission of what it names: a viewer sees a key's usage, not its name.
      const hide =
        (qy.groupBy === 'key' && !can(access.role, 'apikeys.read')) ||
        (qy.groupBy === 'provider' && !can(access.role, 'providers.read'));
      if (hide) for (const g of report.groups) g.name = null;
      if (qy.format === 'csv') {
        reply
          .type('text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="usage-${qy.groupBy}-${report.from.slice(0, 10)}-${report.to.slice(0, 10)}.csv"`,
          );
        // A string bypasses the JSON response schema, as the audit export's stream does.
        return reply.send(usageCsv(report) as never);
      }
      return report;
    },
  );
}
