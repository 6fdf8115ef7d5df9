// Gateway overhead: the same closed-loop load sent straight to a local upstream stub and through Rampart's
// POST /v1/chat/completions (org API key, PII redaction on), in one run, on PGlite and (when
// TEST_DATABASE_URL is set) on PostgreSQL.
// Run alone: node --import tsx bench/gateway.ts [--full]
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Pool } from 'undici';
import { redactChatMessages } from '../packages/core/src/redact/index.js';
import { createRampart, type Rampart } from '../packages/server/src/app.js';
import type { EngineName, Queryable } from '../packages/server/src/db/types.js';
import { MemoryMailer } from '../packages/server/src/identity/mailer.js';
import { appendAudit } from '../packages/server/src/platform/audit/append.js';
import { loadConfig } from '../packages/server/src/platform/config.js';
import { type Categorise, profileThread, selfTimeByCategory } from './lib/cpu-profile.js';
import { type LoadRequest, type LoadResult, LoadWorker } from './lib/http-load.js';
import { concatSamples, fmtLatency, type LatencySummary, summarise } from './lib/latency.js';
import { machine } from './lib/machine.js';
import { renderSection } from './lib/markdown.js';
import type { BenchOptions, BenchSection, Table } from './lib/types.js';

const TARGET_CONCURRENCY = 32;
const TARGET_P50_ADDED_MS = 1;
const TARGET_P99_ADDED_MS = 5;
const CONCURRENCIES = [1, TARGET_CONCURRENCY] as const;
const MODEL = 'bench-model';
const UPSTREAM_KEY = 'sk-bench-upstream-0123456789abcdef';
const PATH = '/v1/chat/completions';

// A realistic request: a support thread to summarise (about 1.5 KB), with the e-mail addresses and phone
// numbers such threads carry, so redaction has work to do on every request.
const USER_TEXT = [
  'Please summarise the following support thread for the account team and list the open action items.',
  '',
  'From: Dana Whitfield <dana.whitfield@northwind-logistics.com>',
  'Hi team, since the 4.2.1 update our warehouse dashboard takes almost 30 seconds to load, and the export ' +
    'to CSV times out for reports longer than 90 days. We have 12 people on the night shift who rely on it. ' +
    'You can reach me on (415) 555-0134 until 6 pm Pacific, or my colleague Marco at ' +
    'marco.bianchi@northwind-logistics.com.',
  '',
  'From: Support <support@example-saas.io>',
  'Thanks Dana. We reproduced the slow load on build 20240315.3 and suspect the new aggregation query. Could ' +
    'you confirm whether the issue also happens in the EU tenant? Our on-call engineer can join a call; the ' +
    'bridge number is +1 212 555 0188.',
  '',
  'From: Dana Whitfield',
  'It happens in both tenants. Order 2024-B-117 was shipped twice because the page timed out during ' +
    'confirmation, so finance (ap-team@northwind-logistics.com, +44 20 7946 0958) needs a corrected invoice ' +
    'for the $1,249.00 charge. Please also update our billing contact to priya.nair@northwind-logistics.com ' +
    'and send the new invoice there.',
  '',
  "Keep the summary under 150 words, neutral in tone, and do not include anyone's contact details.",
].join('\n');

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant for a customer-success team.' },
  { role: 'user', content: USER_TEXT },
];
const CHAT_BODY = JSON.stringify({ model: MODEL, messages: MESSAGES, temperature: 0.2, max_tokens: 300 });
/** What the upstream must receive through Rampart: the same body with the messages redacted. */
const REDACTED_MESSAGES = JSON.stringify(redactChatMessages(MESSAGES));

const STUB_RESPONSE = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: MODEL,
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content:
          'Summary: since 4.2.1 the warehouse dashboard loads slowly and long CSV exports time out in both ' +
          'tenants; a timeout caused a duplicate shipment. Action items: fix the aggregation query, issue a ' +
          'corrected invoice, update the billing contact.',
      },
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 380, completion_tokens: 52, total_tokens: 432 },
});

interface Plan {
  readonly warmup: number;
  /** Recorded requests per point and target. */
  readonly requests: number;
  /** Interleaved rounds the recorded requests are split into (direct and Rampart alternate). */
  readonly rounds: number;
  readonly profileRequests: number;
  /** Sequential runs of each piece timed alone. */
  readonly pieceRuns: number;
}

const planFor = (full: boolean): Plan =>
  full
    ? { warmup: 1000, requests: 20_000, rounds: 10, profileRequests: 5000, pieceRuns: 2000 }
    : { warmup: 200, requests: 2000, rounds: 4, profileRequests: 1000, pieceRuns: 300 };

// --- Rampart under test ---------------------------------------------------------------------------------

interface Instance {
  readonly engine: EngineName;
  readonly label: string;
  readonly rampart: Rampart;
  readonly origin: string;
  readonly orgId: string;
  /** The id of the default key. */
  readonly keyId: string;
  /** API keys: org default (redaction on), and one overriding redaction off. */
  readonly keys: { readonly on: string; readonly off: string };
  close(): Promise<void>;
}

/** A throwaway database on the TEST_DATABASE_URL server (dropped on close), as the test helpers make them. */
async function createPgDatabase(
  base: string,
): Promise<{ url: string; version: string; drop: () => Promise<void> }> {
  const name = `rampart_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    version: (rows[0]?.server_version ?? '').split(' ')[0] ?? '',
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function startRampart(engine: EngineName, stubOrigin: string): Promise<Instance> {
  const base = process.env.TEST_DATABASE_URL;
  const pgDb = engine === 'postgres' && base ? await createPgDatabase(base) : undefined;
  if (engine === 'postgres' && pgDb === undefined) throw new Error('TEST_DATABASE_URL is not set');
  let rampart: Rampart | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RAMPART_MASTER_KEYS: `bench1:${Buffer.alloc(32, 7).toString('base64')}`,
      RAMPART_JWT_SECRET: Buffer.alloc(32, 9).toString('base64'),
      RAMPART_DATA_DIR: '/nonexistent-bench-never-writes-here',
      RAMPART_TEST_BCRYPT_COST: '4',
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    });
    rampart = await createRampart({ config, mailer: new MemoryMailer(), ephemeral: {} });
    await rampart.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = rampart.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    const origin = `http://127.0.0.1:${addr.port}`;

    // Set up as a user would: sign up, register the stub as the org's provider, create API keys.
    const call = async (method: string, path: string, body: unknown, token?: string) => {
      const r = await fetch(`${origin}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
      const json = (await r.json()) as Record<string, unknown>;
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    const signup = await call('POST', '/api/auth/signup', {
      email: 'load-test@example.com',
      password: 'gateway overhead password 1',
      orgName: 'Bench Org',
    });
    const session = String(signup.token);
    const orgId = String(signup.orgId);
    await call(
      'PUT',
      `/api/orgs/${orgId}/providers/stub`,
      { baseUrl: `${stubOrigin}/v1`, apiKey: UPSTREAM_KEY, models: [MODEL] },
      session,
    );
    const on = await call('POST', `/api/orgs/${orgId}/api-keys`, { name: 'bench' }, session);
    const off = await call(
      'POST',
      `/api/orgs/${orgId}/api-keys`,
      { name: 'bench-raw', redaction: 'off' },
      session,
    );
    const r = rampart;
    return {
      engine,
      label: pgDb ? `PostgreSQL ${pgDb.version} (local server)` : 'PGlite (embedded, in-memory)',
      rampart: r,
      origin,
      orgId,
      keyId: String(on.id),
      keys: { on: String(on.key), off: String(off.key) },
      close: async () => {
        await r.close();
        await pgDb?.drop();
      },
    };
  } catch (err) {
    await rampart?.close();
    await pgDb?.drop();
    throw err;
  }
}

// --- Measurement ----------------------------------------------------------------------------------------

type Target = (concurrency: number, warmup: number, requests: number) => LoadRequest;

const target =
  (origin: string, token: string): Target =>
  (concurrency, warmup, requests) => ({
    origin,
    path: PATH,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: CHAT_BODY,
    concurrency,
    warmup,
    requests,
    expectStatus: 200,
  });

/** One figure pair: the same load direct and through something, interleaved in rounds. */
interface Pair {
  readonly concurrency: number;
  readonly direct: LatencySummary;
  readonly via: LatencySummary;
  /** p50 through minus p50 direct, per round. */
  readonly roundAddedP50: readonly number[];
  /** Time spent after the `via` rounds waiting for their deferred work (Rampart: usage audit rows). */
  readonly settleMs: number;
}

/**
 * Sends loads through the worker and checks each: every answer as expected, and the stub saw exactly the
 * requests sent (none lost, none doubled).
 */
class Loader {
  readonly #worker: LoadWorker;
  readonly #failures: string[];
  #expectedAtStub = 0;

  constructor(worker: LoadWorker, failures: string[]) {
    this.#worker = worker;
    this.#failures = failures;
  }

  async run(what: string, req: LoadRequest): Promise<LoadResult> {
    const result = await this.#worker.load(req);
    this.#expectedAtStub += req.warmup + req.requests;
    const bad = Object.entries(result.failures);
    if (bad.length > 0)
      this.#failures.push(`${what}: unexpected answers ${bad.map(([k, n]) => `${k} × ${n}`).join(', ')}`);
    const { received } = await this.#worker.stubStats();
    if (bad.length === 0 && received !== this.#expectedAtStub)
      this.#failures.push(
        `${what}: the stub saw ${received} requests in all, expected ${this.#expectedAtStub}`,
      );
    this.#expectedAtStub = received;
    return result;
  }

  /** What the stub received last, parsed. */
  async lastBody(): Promise<{ messages?: unknown }> {
    return JSON.parse((await this.#worker.stubStats()).lastBody) as { messages?: unknown };
  }

  /** `settle` runs after each `via` round, outside the measured time. */
  async pair(
    what: string,
    plan: Plan,
    c: number,
    direct: Target,
    via: Target,
    settle?: () => Promise<number>,
  ): Promise<Pair> {
    let settleMs = 0;
    const d: LoadResult[] = [];
    const v: LoadResult[] = [];
    const perRound = Math.ceil(plan.requests / plan.rounds);
    for (let round = 0; round < plan.rounds; round++) {
      const warm = round === 0 ? plan.warmup : 0;
      const runD = async () => d.push(await this.run(`direct c=${c}`, direct(c, warm, perRound)));
      const runV = async () => {
        v.push(await this.run(`${what} c=${c}`, via(c, warm, perRound)));
        settleMs += (await settle?.()) ?? 0;
      };
      // Alternate which goes first, so drift on the shared machine falls on both sides alike.
      if (round % 2 === 0) {
        await runD();
        await runV();
      } else {
        await runV();
        await runD();
      }
    }
    const pooled = (rs: LoadResult[]) =>
      summarise(
        concatSamples(rs.map((x) => x.latencies)),
        rs.reduce((t, x) => t + x.wallMs, 0),
      );
    return {
      concurrency: c,
      direct: pooled(d),
      via: pooled(v),
      settleMs,
      roundAddedP50: d.map(
        (x, i) => summarise((v[i] as LoadResult).latencies, 1).p50 - summarise(x.latencies, 1).p50,
      ),
    };
  }
}

interface ProfileResult {
  readonly requests: number;
  readonly busyShare: number;
  readonly throughput: number;
  readonly categories: ReadonlyArray<{
    readonly name: string;
    readonly share: number;
    readonly usPerRequest: number;
  }>;
}

interface EngineResult {
  readonly label: string;
  readonly on: readonly Pair[];
  readonly off: Pair;
  readonly profile: ProfileResult;
  /** Median µs of pieces of the request path, timed alone. */
  readonly pieces: { readonly transaction: number; readonly audit: number; readonly auditBatched: number };
  /** Usage audit rows not yet written when a Rampart round ended (most seen), and the longest wait for them. */
  readonly auditBacklog: { readonly rows: number; readonly drainMs: number };
}

/** Where Rampart's thread spends its time, by package and by Rampart source directory. */
const categorise: Categorise = (url) => {
  if (url === '') return null;
  // WebAssembly belongs to whoever called it: PGlite's PostgreSQL, or undici's HTTP parser (llhttp).
  if (url.startsWith('wasm://')) return { orCaller: 'WebAssembly' };
  if (url.includes('/@electric-sql/pglite/')) return 'PGlite (PostgreSQL compiled to WASM, in-process)';
  if (/\/node_modules\/(pg|pg-[a-z-]+|pgpass|postgres-[a-z-]+)\//.test(url)) return 'pg (PostgreSQL client)';
  if (url.includes('/node_modules/undici/')) return 'undici (the call to the provider)';
  if (/\/node_modules\/(zod|fastify-type-provider-zod)\//.test(url)) return 'zod (request body validation)';
  if (
    /\/node_modules\/(fastify|@fastify\/[^/]+|find-my-way|avvio|light-my-request|fast-json-stringify|secure-json-parse|fast-querystring|fast-uri|toad-cache|process-warning|helmet|rfdc|json-schema-ref-resolver)\//.test(
      url,
    )
  )
    return 'Fastify (routing, hooks, headers, JSON parsing)';
  if (/\/node_modules\/(pino|pino-[a-z-]+|sonic-boom|thread-stream|safe-stable-stringify)\//.test(url))
    return 'pino (logger, silent)';
  if (/\/packages\/core\/(src|dist)\/redact\//.test(url)) return 'PII redaction (`@rampart/core/redact`)';
  const core = /\/packages\/core\/(?:src|dist)\/([a-z-]+)\//.exec(url);
  if (core) return `\`@rampart/core/${core[1]}\``;
  const server = /\/packages\/server\/(?:src|dist)\/((?:platform\/)?[a-z-]+)\//.exec(url);
  if (server) return `Rampart server code, \`${server[1]}/\``;
  if (url.startsWith('node:'))
    return { orCaller: 'Node.js core on its own (HTTP parsing and writing, sockets, timers)' };
  const other = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (other) return `\`${other[1]}\``;
  return 'other';
};

const PSEUDO: Record<string, string> = {
  gc: 'Garbage collection',
  program: 'V8 and native code outside JavaScript (I/O callbacks, compilation)',
};

/** Median wall time in µs of `fn`, run `n` times one after another (after `n / 10` unrecorded runs). */
async function medianUs(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn();
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times[i] = (performance.now() - t0) * 1000;
  }
  return summarise(times, 1).p50;
}

async function measureEngine(loader: Loader, inst: Instance, direct: Target, plan: Plan, failures: string[]) {
  const tag = inst.engine;
  // Each completion appends a usage audit row after answering, off the response path. Rounds wait for those
  // rows to be written, so one round's backlog does not slow the next, and record how large it got.
  let sent = 0;
  const counted =
    (t: Target): Target =>
    (c, warm, n) => {
      sent += warm + n;
      return t(c, warm, n);
    };
  const on = counted(target(inst.origin, inst.keys.on));
  const off = counted(target(inst.origin, inst.keys.off));
  const backlog = { rows: 0, drainMs: 0 };
  const written = async () => {
    const { rows } = await inst.rampart.services.db.org(inst.orgId, (q) =>
      q.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE org_id = $1 AND action = 'llm.completion'",
        [inst.orgId],
      ),
    );
    return rows[0]?.n ?? 0;
  };
  const settle = async () => {
    const started = performance.now();
    let n = await written();
    backlog.rows = Math.max(backlog.rows, sent - n);
    while (n < sent) {
      if (performance.now() - started > 60_000) {
        failures.push(`${tag}: ${sent - n} usage audit rows still missing 60 s after the load stopped`);
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
      n = await written();
    }
    const ms = performance.now() - started;
    backlog.drainMs = Math.max(backlog.drainMs, ms);
    return ms;
  };

  // What the upstream receives through each key.
  await loader.run(`${tag} check`, on(1, 0, 1));
  if (JSON.stringify((await loader.lastBody()).messages) !== REDACTED_MESSAGES)
    failures.push(`${tag}: the upstream did not receive the redacted messages through the default key`);
  await loader.run(`${tag} check`, off(1, 0, 1));
  if (JSON.stringify((await loader.lastBody()).messages) !== JSON.stringify(MESSAGES))
    failures.push(`${tag}: the upstream did not receive raw messages through the redaction-off key`);

  const pairs: Pair[] = [];
  for (const c of CONCURRENCIES) pairs.push(await loader.pair(`${tag} Rampart`, plan, c, direct, on, settle));
  const offPair = await loader.pair(
    `${tag} Rampart, redaction off`,
    plan,
    TARGET_CONCURRENCY,
    direct,
    off,
    settle,
  );

  // One more point under the CPU profiler: Rampart has this thread to itself (load and stub are elsewhere).
  const { result: profiled, profile } = await profileThread(() =>
    loader.run(`${tag} Rampart profiled`, on(TARGET_CONCURRENCY, 0, plan.profileRequests)),
  );
  await settle();
  const totals = selfTimeByCategory(profile, categorise);
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  const busy = total - (totals.get('idle') ?? 0);
  const categories = [...totals]
    .filter(([name]) => name !== 'idle')
    .map(([name, us]) => ({
      name: PSEUDO[name] ?? name,
      share: us / busy,
      usPerRequest: us / plan.profileRequests,
    }))
    .sort((a, b) => b.share - a.share);

  // Two database pieces of every request, timed alone on an idle server.
  const { db } = inst.rampart.services;
  const transaction = await medianUs(plan.pieceRuns, () => db.org(inst.orgId, async () => undefined));
  const usageRow = (q: Queryable) =>
    appendAudit(
      q,
      { apiKeyId: inst.keyId, ip: '127.0.0.1', requestId: randomUUID() },
      {
        orgId: inst.orgId,
        action: 'llm.completion',
        target: `model:${MODEL}`,
        meta: {
          model: MODEL,
          provider: 'stub',
          region: 'us',
          status: 200,
          stream: false,
          redacted: true,
          latencyMs: 1,
          usage: { prompt: 380, completion: 52, total: 432 },
        },
      },
    );
  const audit = await medianUs(plan.pieceRuns, () => db.org(inst.orgId, usageRow));
  const BATCH = 50;
  const auditBatched =
    (await medianUs(Math.ceil(plan.pieceRuns / 10), () =>
      db.org(inst.orgId, async (q) => {
        for (let i = 0; i < BATCH; i++) await usageRow(q);
      }),
    )) / BATCH;

  return {
    label: inst.label,
    on: pairs,
    off: offPair,
    profile: {
      requests: plan.profileRequests,
      busyShare: busy / total,
      throughput: summarise(profiled.latencies, profiled.wallMs).throughput,
      categories,
    },
    pieces: { transaction, audit, auditBatched },
    auditBacklog: backlog,
  } satisfies EngineResult;
}

/** The floor for any Node.js hop: a pass-through proxy with no auth, database, validation or redaction. */
async function startBareProxy(stubOrigin: string): Promise<{ origin: string; close(): Promise<void> }> {
  const upstream = new Pool(stubOrigin);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      upstream
        .request({
          path: PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${UPSTREAM_KEY}` },
          body: Buffer.concat(chunks),
        })
        .then(async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}

// --- Report ---------------------------------------------------------------------------------------------

const mark = (ok: boolean) => (ok ? '✓' : '✗');
const share = (v: number) => `${(v * 100).toFixed(0)}%`;

function pairRows(p: Pair, suffix: string, withTarget: boolean, withAudit: boolean): string[][] {
  const atTarget = withTarget && p.concurrency === TARGET_CONCURRENCY;
  const added50 = p.via.p50 - p.direct.p50;
  const added99 = p.via.p99 - p.direct.p99;
  const name = (figure: string) => `${figure}, concurrency ${p.concurrency}${suffix}`;
  return [
    [
      name('p50 latency'),
      fmtLatency.ms(p.via.p50),
      fmtLatency.ms(p.direct.p50),
      fmtLatency.delta(added50),
      atTarget ? `added ≤ ${TARGET_P50_ADDED_MS} ms ${mark(added50 <= TARGET_P50_ADDED_MS)}` : '–',
    ],
    [
      name('p99 latency'),
      fmtLatency.ms(p.via.p99),
      fmtLatency.ms(p.direct.p99),
      fmtLatency.delta(added99),
      atTarget ? `added ≤ ${TARGET_P99_ADDED_MS} ms ${mark(added99 <= TARGET_P99_ADDED_MS)}` : '–',
    ],
    [
      name('Throughput'),
      fmtLatency.rps(p.via.throughput),
      fmtLatency.rps(p.direct.throughput),
      `${share(p.via.throughput / p.direct.throughput)} of direct`,
      '–',
    ],
    ...(withAudit ? [sustainedRow(p, name)] : []),
  ];
}

/** Throughput with the wait for the rounds' usage audit rows added to their wall time. */
function sustainedRow(p: Pair, name: (figure: string) => string): string[] {
  const wallMs = (p.via.requests / p.via.throughput) * 1000;
  const rps = p.via.requests / ((wallMs + p.settleMs) / 1000);
  return [
    name('Throughput incl. writing the audit rows'),
    fmtLatency.rps(rps),
    fmtLatency.rps(p.direct.throughput),
    `${share(rps / p.direct.throughput)} of direct`,
    '–',
  ];
}

function engineTable(r: EngineResult): Table {
  return {
    caption: `${r.label}: through Rampart (redaction on) against straight to the stub`,
    header: ['Figure', 'Through Rampart', 'Direct to the stub (same run)', 'Added by Rampart', 'Target'],
    rows: [
      ...r.on.flatMap((p) => pairRows(p, '', true, true)),
      ...pairRows(r.off, ', redaction off (key override)', false, true),
    ],
  };
}

function profileTable(r: EngineResult): Table {
  const p = r.profile;
  const shown = p.categories.filter((c) => c.share >= 0.01);
  const rest = p.categories.filter((c) => c.share < 0.01);
  const rows = shown.map((c) => [c.name, share(c.share), `${c.usPerRequest.toFixed(0)} µs`]);
  if (rest.length > 0) {
    const s = rest.reduce((a, c) => a + c.share, 0);
    const us = rest.reduce((a, c) => a + c.usPerRequest, 0);
    rows.push([`${rest.length} more, under 1% each`, share(s), `${us.toFixed(0)} µs`]);
  }
  return {
    caption:
      `${r.label}: where Rampart's thread spends its time at concurrency ${TARGET_CONCURRENCY}, redaction on ` +
      `(CPU profile of ${p.requests.toLocaleString('en-US')} more requests; the thread was busy ` +
      `${share(p.busyShare)} of the time and served ${fmtLatency.rps(p.throughput)} under the profiler)`,
    header: ['Self time in', 'Share of busy time', 'Per request'],
    rows,
  };
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const plan = planFor(opts.full);
  const failures: string[] = [];
  const engines: EngineName[] = ['pglite', ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];
  const worker = await LoadWorker.start();
  const loader = new Loader(worker, failures);
  const results: EngineResult[] = [];
  const bare: Pair[] = [];
  try {
    const stubOrigin = `http://127.0.0.1:${await worker.stub(PATH, STUB_RESPONSE)}`;
    const direct = target(stubOrigin, UPSTREAM_KEY);

    const proxy = await startBareProxy(stubOrigin);
    try {
      const via = target(proxy.origin, 'unused');
      for (const c of CONCURRENCIES) bare.push(await loader.pair('bare proxy', plan, c, direct, via));
    } finally {
      await worker.closePools();
      await proxy.close();
    }

    for (const engine of engines) {
      const inst = await startRampart(engine, stubOrigin);
      try {
        results.push(await measureEngine(loader, inst, direct, plan, failures));
      } finally {
        await worker.closePools();
        await inst.close();
      }
    }
  } finally {
    await worker.close();
  }
  const redactUs = await medianUs(plan.pieceRuns * 4, () => redactChatMessages(MESSAGES));

  const tables: Table[] = [
    ...results.map(engineTable),
    {
      caption:
        'Reference: a bare Node.js pass-through proxy on the same thread (node:http in, undici out; no auth, ' +
        'database, validation or redaction)',
      header: [
        'Figure',
        'Through the bare proxy',
        'Direct to the stub (same run)',
        'Added by the proxy',
        'Target',
      ],
      rows: bare.flatMap((p) => pairRows(p, '', false, false)),
    },
    ...results.map(profileTable),
    {
      caption: 'Pieces of each request, timed alone one after another on an idle server (median)',
      header: ['Piece', ...results.map((r) => r.label)],
      rows: [
        [
          `Redact the messages of this body (\`redactChatMessages\`, ${(USER_TEXT.length / 1024).toFixed(1)} KB of text)`,
          ...results.map(() => `${redactUs.toFixed(0)} µs`),
        ],
        [
          'An empty org transaction (BEGIN, app role and tenant context, COMMIT); route resolution is one of these ' +
            'plus its query',
          ...results.map((r) => `${r.pieces.transaction.toFixed(0)} µs`),
        ],
        [
          'One usage audit row (hash-chain head upsert, insert, head update) in its own transaction',
          ...results.map((r) => `${r.pieces.audit.toFixed(0)} µs`),
        ],
        [
          'One usage audit row, in a transaction of 50 (per row)',
          ...results.map((r) => `${r.pieces.auditBatched.toFixed(0)} µs`),
        ],
      ],
    },
  ];

  const firstDirect = results[0]?.on.find((x) => x.concurrency === TARGET_CONCURRENCY)?.direct.p50;
  const notes: string[] = [];
  for (const r of results) {
    const p = r.on.find((x) => x.concurrency === TARGET_CONCURRENCY);
    if (p === undefined) continue;
    notes.push(
      `${r.label}, concurrency ${TARGET_CONCURRENCY}: added p50 per round ranged from ` +
        `${fmtLatency.delta(Math.min(...p.roundAddedP50))} to ${fmtLatency.delta(Math.max(...p.roundAddedP50))} ` +
        `over the ${p.roundAddedP50.length} interleaved rounds. When a Rampart round ended, up to ` +
        `${r.auditBacklog.rows.toLocaleString('en-US')} usage audit rows were still to be written; the longest ` +
        `wait for them was ${fmtLatency.ms(r.auditBacklog.drainMs)} (outside the measured time).`,
    );
  }
  notes.push(
    'Closed loop: at concurrency N, N connections each send the next request as soon as the previous answer ' +
      'has been read. At concurrency 32 a request mostly waits behind the other 31, so latency is about ' +
      '32 ÷ throughput (Little’s law): the added latency there is Rampart’s CPU time per request times the ' +
      `queue, not a fixed hop cost. Meeting +${TARGET_P50_ADDED_MS} ms at concurrency ${TARGET_CONCURRENCY} means ` +
      `serving about ${TARGET_CONCURRENCY} ÷ (direct p50 + ${TARGET_P50_ADDED_MS} ms)` +
      (firstDirect === undefined
        ? ''
        : ` ≈ ${fmtLatency.rps((TARGET_CONCURRENCY / (firstDirect + TARGET_P50_ADDED_MS)) * 1000)}`) +
      ' on one thread; the bare proxy table shows what a single Node.js hop alone costs on this machine.',
    'Per request, Rampart authenticates the API key (hash lookup, cached up to 5 s), resolves the route ' +
      '(provider, org redaction setting, the unsealed provider key), validates the body, redacts the messages ' +
      'and calls the provider through the outbound guard. The usage audit row (hash-chained, in order per org) ' +
      'is written after the answer, off the response path but on the same thread and database; each round ' +
      'waits for its rows before the next one starts, and the “incl. writing the audit rows” rows count that ' +
      'wait, which is what a sustained load would have to keep up with.',
    'Threads: Rampart (with PGlite, which runs in-process) has the main thread; the load generator and the ' +
      'stub share a worker thread, so they do the same work in both measurements. PostgreSQL runs on the same ' +
      'two cores. On a dedicated gateway host the load generator and the stub would not compete with Rampart ' +
      'for CPU.',
    'The profile tables charge native builtins (JSON, crypto, regular expressions) and Node.js internals to ' +
      'the package or Rampart code that called them; “Node.js core on its own” is what ran with no such caller ' +
      '(parsing requests and responses off the sockets, timers). The profiler slows the thread, so its ' +
      'per-request figures read high.',
    `Quick mode: ${planFor(false).requests.toLocaleString('en-US')} recorded requests per point and side after ` +
      `${planFor(false).warmup} warm-up requests, in ${planFor(false).rounds} rounds; \`--full\`: ` +
      `${planFor(true).requests.toLocaleString('en-US')} after ${planFor(true).warmup.toLocaleString('en-US')}, ` +
      `in ${planFor(true).rounds} rounds. Set \`TEST_DATABASE_URL\` (a PostgreSQL server where the user may ` +
      'create databases) to add PostgreSQL; the bench creates a throwaway database and drops it.',
  );

  const engineList = results.map((r) => r.label).join(' and ');
  return {
    id: 'gateway',
    title: 'LLM gateway overhead (`POST /v1/chat/completions`)',
    command: `${engines.includes('postgres') ? 'TEST_DATABASE_URL=<postgres URL> ' : ''}node --import tsx bench/gateway.ts${opts.full ? ' --full' : ''}`,
    intro: [
      'The same load, in the same run, sent straight to a local upstream stub and through Rampart: ' +
        `OpenAI-style \`POST /v1/chat/completions\` with a ${(CHAT_BODY.length / 1024).toFixed(1)} KB chat body ` +
        '(a support thread to summarise, with five e-mail addresses and three phone numbers), an org API key, ' +
        'PII redaction on (the org default), and the stub registered as the org’s provider. The stub answers ' +
        'at once with a fixed `chat.completion`, so everything above the direct figures is the hop through ' +
        'Rampart. The run checks that the stub received the redacted messages (and the raw ones through a key ' +
        'that overrides redaction off), that every request was answered 200, and that the stub saw each one.',
      `Databases: ${engineList}. Latency is measured per request by the client (from handing the request to ` +
        'undici to reading the whole answer); figures are percentiles over all recorded requests, with direct ' +
        'and Rampart rounds interleaved so machine noise falls on both. Added = Rampart minus direct at the ' +
        `same percentile and concurrency. Target: p50 added ≤ ${TARGET_P50_ADDED_MS} ms and p99 added ≤ ` +
        `${TARGET_P99_ADDED_MS} ms at concurrency ${TARGET_CONCURRENCY}, redaction on.`,
    ].join('\n\n'),
    tables,
    notes,
    failures,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const full = process.argv.includes('--full');
  const section = await run({ full });
  console.log(renderSection(section, machine(), full ? 'full' : 'quick'));
  for (const failure of section.failures) console.error(`FAIL: ${failure}`);
  process.exitCode = section.failures.length > 0 ? 1 : 0;
}
