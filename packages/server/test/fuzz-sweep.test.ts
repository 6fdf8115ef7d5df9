import { api, signup, uniqueEmail } from '@rampart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { ERROR_CODES } from '../src/platform/errors.js';
import { API_KEY_SCOPES } from '../src/platform/permissions.js';
import { startTestServer } from './helpers.js';

/**
 * Fuzz sweep over every documented route: malformed inputs generated from each route's own OpenAPI schema
 * (wrong types, missing and unknown properties, `__proto__` / `constructor` / `prototype` keys, huge strings,
 * deep nesting, unicode edge cases, extreme numbers, garbage path parameters and query strings, broken JSON,
 * wrong content types, missing or bogus credentials). Every generated input is checked against the schema by
 * a small validator (fuzz-support.ts), so only inputs the route must refuse are sent: every answer must be a 4xx with a
 * JSON error code, within 10 s, the server must stay up, and the database must be unchanged.
 *
 * Reproduce a failure with the seed it prints: `RAMPART_FUZZ_SEED=<seed> npx vitest run fuzz-sweep`.
 */

import {
  CONCURRENCY,
  isObj,
  type Operation,
  REQUEST_TIMEOUT_MS,
  type Route,
  SEED,
  type Srv,
  type Targets,
  type Variant,
  variantsFor,
} from './fuzz-support.js';
import { TEST_BILLING_PLANS } from './widget-support.js';

interface Outcome {
  v: Variant;
  status: number;
  text: string;
  contentType: string;
  location: string | null;
  ms: number;
  error?: string;
}

async function send(baseUrl: string, v: Variant): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (v.token !== null) headers.authorization = `Bearer ${v.token}`;
  if (v.contentType) headers['content-type'] = v.contentType;
  const started = performance.now();
  try {
    const res = await fetch(`${baseUrl}${v.path}${v.query ? `?${v.query}` : ''}`, {
      method: v.route.method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(v.body !== undefined ? { body: v.body } : {}),
    });
    const text = await res.text();
    return {
      v,
      status: res.status,
      text,
      contentType: res.headers.get('content-type') ?? '',
      location: res.headers.get('location'),
      ms: performance.now() - started,
    };
  } catch (err) {
    return {
      v,
      status: 0,
      text: '',
      contentType: '',
      location: null,
      ms: performance.now() - started,
      error: String(err),
    };
  }
}

/**
 * Rows that refused requests add by design, each with the reason. Everything else must be byte-for-byte equal.
 * Only the rows named here are left out, so any other audit entry a refused request writes still fails the test.
 */
const EXCLUDED_ROWS: Record<string, { keep: string; why: string }> = {
  audit_log: {
    keep: `NOT (org_id IS NULL AND action IN ('auth.oidc_refused', 'billing.webhook_rejected'))`,
    why: 'refused OIDC callbacks and unsigned billing webhooks are recorded on the platform audit chain',
  },
  audit_heads: {
    keep: 'org_id IS NOT NULL',
    why: 'the platform audit chain head advances with those records (org chains must not move)',
  },
};

/** Columns left out of every table: `last_used_at` is stamped when a credential authenticates (the read probes allowed to succeed use the API key). */
const EXCLUDED_COLUMNS = ['last_used_at'];

/** Row count and content hash of every public table, read as the owner (past RLS). */
async function snapshot(db: Database): Promise<Record<string, string>> {
  return db.owner(async (q) => {
    const { rows: tables } = await q.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const out: Record<string, string> = {};
    for (const { t } of tables) {
      const where = EXCLUDED_ROWS[t] ? `WHERE ${EXCLUDED_ROWS[t].keep}` : '';
      const { rows } = await q.query<{ n: number; h: string }>(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(j, E'\\n' ORDER BY j), '')) AS h
           FROM (SELECT (to_jsonb(x) - $1::text[])::text AS j FROM "${t}" x ${where}) s`,
        [EXCLUDED_COLUMNS],
      );
      out[t] = `${rows[0]?.n} rows, md5 ${rows[0]?.h}`;
    }
    return out;
  });
}

/** Routes whose success answer is not JSON (redirects, streams, CSV, packages). */
const nonJsonSuccess = (r: Route): boolean =>
  !Object.keys(r.op.responses?.['200']?.content ?? r.op.responses?.['201']?.content ?? {}).includes(
    'application/json',
  ) && !Object.keys(r.op.responses?.['202']?.content ?? {}).includes('application/json');

function problem(o: Outcome): string | undefined {
  const r = o.v.route;
  if (o.error) return `no answer: ${o.error}`;
  if (o.status >= 500) return 'server error';
  if (o.ms > REQUEST_TIMEOUT_MS) return `slow: ${Math.round(o.ms)} ms`;
  if (o.status < 400) {
    if (o.v.tolerated && o.status < 300) return undefined;
    // The OIDC callback refuses by redirecting to the dashboard with #error=... (documented).
    if (r.path === '/api/auth/oidc/callback' && o.status === 303 && o.location?.includes('#error='))
      return undefined;
    return 'malformed input accepted';
  }
  let body: unknown;
  try {
    body = JSON.parse(o.text);
  } catch {
    return 'error answer is not JSON';
  }
  if (!o.contentType.includes('application/json')) return `error answer content-type ${o.contentType}`;
  if (isObj(body) && typeof body.error === 'string' && body.error.length > 0) return undefined;
  // The Anthropic-compatible route answers in Anthropic's error shape, Rampart's code in error.details.
  if (r.path.startsWith('/v1/messages') && typeof anthropicError(body)?.error === 'string') return undefined;
  // MCP speaks JSON-RPC: its errors are { jsonrpc, error: { code, message } }.
  if (nonJsonSuccess(r) && isObj(body) && isObj(body.error) && typeof body.error.code === 'number')
    return undefined;
  return 'error answer has no error code';
}

/**
 * An error of the Anthropic-compatible route (`{ type: "error", error: { type, message, details: { error_code } },
 * request_id }`) read back as Rampart's `{ error, requestId }`; undefined when it is not that shape.
 */
function anthropicError(body: unknown): { error: unknown; requestId: unknown } | undefined {
  if (!isObj(body) || body.type !== 'error' || !isObj(body.error) || !isObj(body.error.details))
    return undefined;
  return { error: body.error.details.error_code, requestId: body.request_id };
}

const describeOutcome = (o: Outcome, why: string): string =>
  `${why}: ${o.v.route.method} ${o.v.route.path} [${o.v.kind}] -> ${o.status} ` +
  `(${o.v.path.slice(0, 120)}${o.v.query ? `?${o.v.query.slice(0, 80)}` : ''}; body ${o.v.body?.length ?? 0} B) ` +
  `answer: ${o.text.slice(0, 300)}`;

describe(`fuzz sweep over every documented route (seed ${SEED})`, () => {
  let srv: Srv;
  let t: Targets;
  let routes: Route[];
  /** An org API key with every scope: org routes that admit keys are swept with it too (`config.apiKeyScope`). */
  let scopedKey: string;
  /** Filled by the sweep, read by the error-model check after it. */
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    srv = await startTestServer('pglite', {
      RAMPART_BILLING_WEBHOOK_SECRET: 'fuzz-billing-secret-0123456789',
      RAMPART_BILLING_PLANS: TEST_BILLING_PLANS,
    });
    const owner = await signup(srv.baseUrl, { email: uniqueEmail('fuzz-owner'), orgName: 'Fuzz Corp' });
    const a = api(srv.baseUrl, owner.token);
    const o = `/api/orgs/${owner.orgId}`;
    const key = await a.post<{ id: string; key: string }>(`${o}/api-keys`, { name: 'fuzz key' });
    const all = await a.post<{ key: string }>(`${o}/api-keys`, {
      name: 'fuzz scopes',
      scopes: [...API_KEY_SCOPES],
    });
    expect(all.status, all.text).toBe(201);
    scopedKey = all.body.key;
    const rt = await a.post<{ id: string; token: string }>(`${o}/runtime-tokens`, { name: 'fuzz runtime' });
    const secret = await a.put(`${o}/secrets/FUZZ_SECRET`, { value: 'sk-fuzz-secret-value-0000' });
    const job = await a.post<{ id: string }>(`${o}/jobs`, {
      name: 'fuzz job',
      schedule: '*/5 * * * *',
      url: 'https://fuzz.example.com/hook',
    });
    const widget = await a.post<{ id: string }>(`${o}/widgets`, {
      name: 'fuzz widget',
      allowedOrigins: ['https://fuzz.example.com'],
      model: 'm',
    });
    expect([key.status, rt.status, secret.status, job.status, widget.status], widget.text).toEqual([
      201, 201, 200, 201, 201,
    ]);
    t = {
      owner,
      apiKey: key.body.key,
      apiKeyId: key.body.id,
      runtimeToken: rt.body.token,
      runtimeTokenId: rt.body.id,
      jobId: job.body.id,
      widgetId: widget.body.id,
      secretName: 'FUZZ_SECRET',
    };
    const doc = (await (await fetch(`${srv.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const methods = new Set(['get', 'post', 'put', 'patch', 'delete']);
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([m]) => methods.has(m))
        .map(([m, op]) => ({ method: m.toUpperCase(), path, op })),
    );
  });
  afterAll(() => srv?.close());

  it('refuses every malformed input with a 4xx JSON error, stays up, and changes nothing', async () => {
    expect(routes.length).toBeGreaterThanOrEqual(90);
    // The org routes that admit API keys get every variant twice: as the owner's session and as a key.
    const admitting = new Set(
      srv.rampart.orgRoutes
        .filter((r) => r.apiKeyScope)
        .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`),
    );
    const asKey = { ...t, owner: { ...t.owner, token: scopedKey } };
    const keyed = routes.filter((r) => admitting.has(`${r.method} ${r.path}`));
    expect(keyed.length).toBe(admitting.size);
    const variants = [
      ...routes.flatMap((r) => variantsFor(r, t)),
      ...keyed.flatMap((r) => variantsFor(r, asKey).map((v) => ({ ...v, kind: `${v.kind} (API key)` }))),
    ];
    // Let anything the setup started (last-used stamps, audit batches) land before the first snapshot.
    await new Promise((r) => setTimeout(r, 500));
    const before = await snapshot(srv.rampart.services.db);

    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < variants.length) {
          const v = variants[next++] as Variant;
          outcomes.push(await send(srv.baseUrl, v));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    const health = await fetch(`${srv.baseUrl}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await new Promise((r) => setTimeout(r, 500));
    const after = await snapshot(srv.rampart.services.db);

    const perRoute = new Map<string, number>();
    for (const v of variants)
      perRoute.set(
        `${v.route.method} ${v.route.path}`,
        (perRoute.get(`${v.route.method} ${v.route.path}`) ?? 0) + 1,
      );
    const statuses = new Map<number, number>();
    for (const o of outcomes) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
    const tolerated2xx = outcomes.filter((o) => o.v.tolerated && o.status < 300).length;
    const slowest = outcomes.reduce((m, o) => (o.ms > m.ms ? o : m));
    console.log(
      `[fuzz-sweep] seed ${SEED}: ${routes.length} routes, ${outcomes.length} requests ` +
        `(${Math.min(...perRoute.values())}-${Math.max(...perRoute.values())} per route) in ${seconds.toFixed(1)} s; ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}; ` +
        `${tolerated2xx} read probes with unknown query keys answered 2xx; ` +
        `slowest ${Math.round(slowest.ms)} ms (${slowest.v.route.method} ${slowest.v.route.path} [${slowest.v.kind}])`,
    );

    const problems = outcomes
      .map((o) => ({ o, why: problem(o) }))
      .filter((x): x is { o: Outcome; why: string } => x.why !== undefined)
      .map(({ o, why }) => describeOutcome(o, why))
      .sort();
    expect(problems, `seed ${SEED}:\n${problems.join('\n')}`).toEqual([]);
    expect(health.status).toBe(200);
    expect(after, `seed ${SEED}: the database changed`).toEqual(before);
  }, 180_000);

  it("every refusal in the sweep uses Rampart's error model and does not echo the request path", () => {
    expect(outcomes.length).toBeGreaterThan(0);
    const codes = new Set<string>(ERROR_CODES);
    const problems = outcomes
      .filter((o) => o.status >= 400 && !(nonJsonSuccess(o.v.route) && o.text.includes('"jsonrpc"')))
      .map((o) => {
        let body: unknown;
        try {
          body = JSON.parse(o.text);
        } catch {
          return describeOutcome(o, 'error answer is not JSON');
        }
        if (o.v.route.path.startsWith('/v1/messages')) body = anthropicError(body) ?? body;
        if (!isObj(body) || typeof body.error !== 'string' || !codes.has(body.error)) {
          return describeOutcome(o, 'error is not a documented error code');
        }
        if (typeof body.requestId !== 'string') return describeOutcome(o, 'error answer has no requestId');
        // The not-found handler never echoes the path: it may carry a token. No other refusal may either.
        const segment = o.v.path.split('/').find((x) => x.length > 40);
        if (segment && o.text.includes(segment.slice(0, 40)))
          return describeOutcome(o, 'error answer echoes the path');
        return undefined;
      })
      .filter((x): x is string => x !== undefined)
      .sort();
    expect(problems, `seed ${SEED}:\n${problems.join('\n')}`).toEqual([]);
  });
});
