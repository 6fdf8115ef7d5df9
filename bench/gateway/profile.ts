// CPU-profile and database-piece timing for the gateway bench: where Rampart's thread spends its time, and
// pieces of each request timed alone on an idle server.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../packages/server/src/db/types.js';
import { appendAudit } from '../../packages/server/src/platform/audit/append.js';
import { type Categorise, profileThread, selfTimeByCategory } from '../lib/cpu-profile.js';
import { summarise } from '../lib/latency.js';
import type { Loader, Target } from './measure.js';
import { type Instance, MODEL, type Plan, TARGET_CONCURRENCY } from './setup.js';

export interface ProfileResult {
  readonly requests: number;
  readonly busyShare: number;
  readonly throughput: number;
  readonly categories: ReadonlyArray<{
    readonly name: string;
    readonly share: number;
    readonly usPerRequest: number;
  }>;
}

/** Median µs of pieces of the request path, timed alone. */
export interface Pieces {
  readonly transaction: number;
  readonly audit: number;
  readonly auditBatched: number;
}

/** Where Rampart's thread spends its time, by package and by Rampart source directory. */
export const categorise: Categorise = (url) => {
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
export async function medianUs(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn();
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times[i] = (performance.now() - t0) * 1000;
  }
  return summarise(times, 1).p50;
}

export async function profileAndPieces(
  loader: Loader,
  inst: Instance,
  on: Target,
  settle: () => Promise<number>,
  plan: Plan,
  tag: string,
): Promise<{ profile: ProfileResult; pieces: Pieces }> {
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
    profile: {
      requests: plan.profileRequests,
      busyShare: busy / total,
      throughput: summarise(profiled.latencies, profiled.wallMs).throughput,
      categories,
    },
    pieces: { transaction, audit, auditBatched },
  };
}
