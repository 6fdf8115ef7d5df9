// Where Rampart's thread spends its time under a bench's load: CPU-profile categories by package and by
// Rampart source directory, and the per-request summary the reports show.
import type { Profiler } from 'node:inspector';
import { type Categorise, selfTimeByCategory } from './cpu-profile.js';
import type { LoadResult } from './http-load.js';
import { summarise } from './latency.js';

export interface CategoriserOptions {
  /** The category of undici (what Rampart calls through it). */
  readonly undici: string;
  /** Packages of the bench's path, checked in order after undici and before Rampart's own code. */
  readonly packages: ReadonlyArray<readonly [RegExp, string]>;
  /** The category of Node.js core code with no caller of its own. */
  readonly node: string;
}

/** Categories by package and by Rampart source directory; `packages` names the ones the bench cares about. */
export const rampartCategoriser =
  (opts: CategoriserOptions): Categorise =>
  (url) => {
    if (url === '') return null;
    // WebAssembly belongs to whoever called it: PGlite's PostgreSQL, or undici's HTTP parser (llhttp).
    if (url.startsWith('wasm://')) return { orCaller: 'WebAssembly' };
    if (url.includes('/@electric-sql/pglite/')) return 'PGlite (PostgreSQL compiled to WASM, in-process)';
    if (/\/node_modules\/(pg|pg-[a-z-]+|pgpass|postgres-[a-z-]+)\//.test(url))
      return 'pg (PostgreSQL client)';
    if (url.includes('/node_modules/undici/')) return opts.undici;
    for (const [pattern, category] of opts.packages) if (pattern.test(url)) return category;
    const core = /\/packages\/core\/(?:src|dist)\/([a-z-]+)\//.exec(url);
    if (core) return `\`@rampart/core/${core[1]}\``;
    const server = /\/packages\/server\/(?:src|dist)\/((?:platform\/)?[a-z-]+)\//.exec(url);
    if (server) return `Rampart server code, \`${server[1]}/\``;
    if (url.startsWith('node:')) return { orCaller: opts.node };
    const other = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (other) return `\`${other[1]}\``;
    return 'other';
  };

/** The categories of Rampart's HTTP request path (gateway and widget benches). */
export const httpCategorise: Categorise = rampartCategoriser({
  undici: 'undici (the call to the provider)',
  packages: [
    [/\/node_modules\/(zod|fastify-type-provider-zod)\//, 'zod (request body validation)'],
    [
      /\/node_modules\/(fastify|@fastify\/[^/]+|find-my-way|avvio|light-my-request|fast-json-stringify|secure-json-parse|fast-querystring|fast-uri|toad-cache|process-warning|helmet|rfdc|json-schema-ref-resolver)\//,
      'Fastify (routing, hooks, headers, JSON parsing)',
    ],
    [
      /\/node_modules\/(pino|pino-[a-z-]+|sonic-boom|thread-stream|safe-stable-stringify)\//,
      'pino (logger, silent)',
    ],
    [/\/packages\/core\/(src|dist)\/redact\//, 'PII redaction (`@rampart/core/redact`)'],
  ],
  node: 'Node.js core on its own (HTTP parsing and writing, sockets, timers)',
});

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

const PSEUDO: Record<string, string> = {
  gc: 'Garbage collection',
  program: 'V8 and native code outside JavaScript (I/O callbacks, compilation)',
};

/** The busy share and each category's share of the busy time and µs per request, largest first. */
export function profileResult(
  profile: Profiler.Profile,
  categorise: Categorise,
  requests: number,
  load: LoadResult,
): ProfileResult {
  const totals = selfTimeByCategory(profile, categorise);
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  const busy = total - (totals.get('idle') ?? 0);
  return {
    requests,
    busyShare: busy / total,
    throughput: summarise(load.latencies, load.wallMs).throughput,
    categories: [...totals]
      .filter(([name]) => name !== 'idle')
      .map(([name, us]) => ({
        name: PSEUDO[name] ?? name,
        share: us / busy,
        usPerRequest: us / requests,
      }))
      .sort((a, b) => b.share - a.share),
  };
}
