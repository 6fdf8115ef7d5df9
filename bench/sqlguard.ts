// The SELECT sandbox: validations per second against the bare PostgreSQL parser (libpg-query) in the same run,
// and, on PostgreSQL, the latency of a sandboxed query (guard, READ ONLY transaction, timeouts, row cap,
// ROLLBACK) against the same query sent directly.
// Run alone: [TEST_DATABASE_URL=...] node --import tsx bench/sqlguard.ts [--full]
import { createPgDatabase } from '@rampart/testing';
import pg from 'pg';
import { ALLOWED_QUERIES, BYPASS_ATTEMPTS } from '../packages/core/src/sqlguard/corpus.js';
import { checkSelect, loadSqlGuard } from '../packages/core/src/sqlguard/index.js';
import { runSandboxed } from '../packages/server/src/dbaccess/sandbox.js';
import { fmt, throughput } from './lib/measure.js';
import { runWhenMain, standaloneCommand } from './lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable } from './lib/types.js';

const perSecond = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const { parseSync } = await import('libpg-query');
  await loadSqlGuard();
  const corpus = [...ALLOWED_QUERIES, ...BYPASS_ATTEMPTS.map(([, sql]) => sql)].filter((q) => q.length > 0);
  const timing = { iterations: opts.full ? 200 : 40, timeMs: opts.full ? 5_000 : 1_500, warmupIterations: 5 };
  const failures: string[] = [];
  for (const q of ALLOWED_QUERIES)
    if (!checkSelect(q).ok) failures.push(`an allowed query was refused: ${q}`);
  for (const [t, q] of BYPASS_ATTEMPTS) if (checkSelect(q).ok) failures.push(`a bypass was accepted: ${t}`);

  const guard = await throughput(
    'guard',
    1,
    () => {
      for (const q of corpus) checkSelect(q);
    },
    timing,
  );
  const parse = await throughput(
    'parse',
    1,
    () => {
      for (const q of corpus) {
        try {
          parseSync(q);
        } catch {
          // refused by the parser itself
        }
      }
    },
    timing,
  );
  const guardRate = corpus.length / (guard.medianMs / 1000);
  const parseRate = corpus.length / (parse.medianMs / 1000);
  const figures: Figure[] = [
    {
      figure: `Validations per second (${corpus.length}-query mix: ${ALLOWED_QUERIES.length} allowed, the rest bypass attempts)`,
      ours: perSecond(guardRate),
      peer: `libpg-query parse alone: ${perSecond(parseRate)}`,
      ratio: `${fmt.ratio(parseRate / guardRate)} the parser's cost`,
      target: '–',
    },
  ];
  const notes = [
    'A validation is the parse plus a walk of every AST node (statement kinds, INTO, locking, function and cast allow-lists), then the fingerprint and the normalised-query hash for accepted queries: the walk and the two hashes are the difference to the bare parse.',
  ];

  let pgVersion: string | null = null;
  const base = process.env.TEST_DATABASE_URL;
  if (base) {
    const db = await createPgDatabase({ base, prefix: 'rampart_bench' });
    pgVersion = db.version;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(
        'CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, spend numeric NOT NULL)',
      );
      await client.query(
        `INSERT INTO customers SELECT g, 'c' || g || '@example.com', g FROM generate_series(1, 10000) g`,
      );
      const sql = 'SELECT id, email, spend FROM customers WHERE id = $1';
      let n = 0;
      const q = {
        iterations: opts.full ? 2_000 : 300,
        timeMs: opts.full ? 5_000 : 1_500,
        warmupIterations: 20,
      };
      const direct = await throughput(
        'direct',
        1,
        async () => {
          await client.query(sql, [1 + (n++ % 10_000)]);
        },
        q,
      );
      const sandboxed = await throughput(
        'sandboxed',
        1,
        async () => {
          await runSandboxed(client, sql, [1 + (n++ % 10_000)]);
        },
        q,
      );
      figures.push({
        figure: 'One-row query by primary key, median latency (same connection)',
        ours: `sandboxed: ${us(sandboxed.medianMs)}`,
        peer: `direct pg query: ${us(direct.medianMs)}`,
        ratio: `${fmt.ratio(sandboxed.medianMs / direct.medianMs)} (+${us(sandboxed.medianMs - direct.medianMs)})`,
        target: '–',
      });
      notes.push(
        'The sandboxed path adds three round trips (BEGIN READ ONLY, the local timeouts, ROLLBACK) to the query itself, plus the guard; on a loopback server that is most of the difference.',
      );
    } finally {
      await client.end();
      await db.drop();
    }
  } else {
    notes.push('Set TEST_DATABASE_URL to add the sandboxed-versus-direct query latency on PostgreSQL.');
  }

  return {
    id: 'sqlguard',
    title: 'SELECT sandbox',
    command: standaloneCommand('bench/sqlguard.ts', opts, Boolean(base)),
    intro: `The database-access sandbox: how fast a query is validated on PostgreSQL's own parser, and what a sandboxed execution costs${pgVersion ? ` on PostgreSQL ${pgVersion}` : ''}.`,
    headline: [{ ...(figures[0] as Figure), figure: 'SQL sandbox validations/s (SELECT-only guard)' }],
    tables: [figureTable('Validation and execution', figures)],
    notes,
    failures,
  };
}

await runWhenMain(import.meta.url, run);
