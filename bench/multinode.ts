// Revocation across nodes: the time from revoking an API key on node A to the first refusal of that key on
// node B (whose credential cache held it, warmed right before), over each node bus: Redis pub/sub and
// PostgreSQL LISTEN/NOTIFY. The baseline of the same run is the bare transport: one publish to one subscriber
// on a plain client, the floor any revocation message pays. Before the bus, B refused only when its 5 s cache
// entry expired.
// Run alone: TEST_DATABASE_URL=... [REDIS_URL=...] node --import tsx bench/multinode.ts [--full]
import { createPgDatabase, type PgDatabase, signup } from '@rampart/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Rampart } from '../packages/server/src/app.js';
import { CREDENTIAL_CACHE_TTL_MS } from '../packages/server/src/identity/authenticate.js';
import { percentile } from './lib/latency.js';
import { createBenchRampart } from './lib/rampart.js';
import { runWhenMain, standaloneCommand } from './lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable, type Table } from './lib/types.js';

const TARGET_P99_MS = 100;

interface Node {
  rampart: Rampart;
  origin: string;
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const rampart = await createBenchRampart(env);
  await rampart.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = rampart.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { rampart, origin: `http://127.0.0.1:${addr.port}` };
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

function stats(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0 };
}

/** `n` revocations on A, each timed until B first refuses the key. */
async function measureRevocations(
  a: Node,
  b: Node,
  n: number,
): Promise<{ fromRequest: number[]; fromAnswer: number[]; stale: number }> {
  const owner = await signup(a.origin);
  const auth = { authorization: `Bearer ${owner.token}` };
  const fromRequest: number[] = [];
  const fromAnswer: number[] = [];
  let stale = 0;
  for (let i = 0; i < n; i++) {
    const created = await fetch(`${a.origin}/api/orgs/${owner.orgId}/api-keys`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `k${i}` }),
    });
    const key = (await created.json()) as { id: string; key: string };
    const onB = () => fetch(`${b.origin}/v1/models`, { headers: { authorization: `Bearer ${key.key}` } });
    // B accepts the key and now holds it in its cache: without a message it would keep serving it for 5 s.
    const warm = await onB();
    await warm.arrayBuffer();
    if (warm.status !== 200) throw new Error(`warm-up on B: ${warm.status}`);
    const sent = performance.now();
    const revoked = await fetch(`${a.origin}/api/orgs/${owner.orgId}/api-keys/${key.id}`, {
      method: 'DELETE',
      headers: auth,
    });
    const answered = performance.now();
    await revoked.arrayBuffer();
    if (revoked.status !== 200) throw new Error(`revoke on A: ${revoked.status}`);
    for (;;) {
      const r = await onB();
      await r.arrayBuffer();
      if (r.status === 401) break;
      stale++;
      if (performance.now() - sent > CREDENTIAL_CACHE_TTL_MS * 2) throw new Error('B never refused the key');
    }
    const refused = performance.now();
    fromRequest.push(refused - sent);
    fromAnswer.push(Math.max(0, refused - answered));
  }
  return { fromRequest, fromAnswer, stale };
}

/** The floor: one message from one plain client to another subscribed one, `n` times. */
async function bareRoundTrips(kind: 'redis' | 'postgres', url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  if (kind === 'redis') {
    const pub = new Redis(url);
    const sub = new Redis(url);
    try {
      let got: (() => void) | undefined;
      sub.on('message', () => got?.());
      await sub.subscribe('rampart:bench:floor');
      for (let i = 0; i < n; i++) {
        const arrived = new Promise<void>((r) => {
          got = r;
        });
        const t = performance.now();
        await pub.publish('rampart:bench:floor', JSON.stringify({ kind: 'api_key', i }));
        await arrived;
        out.push(performance.now() - t);
      }
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
    return out;
  }
  const pub = new pg.Client({ connectionString: url });
  const sub = new pg.Client({ connectionString: url });
  await pub.connect();
  await sub.connect();
  try {
    let got: (() => void) | undefined;
    sub.on('notification', () => got?.());
    await sub.query('LISTEN rampart_bench_floor');
    for (let i = 0; i < n; i++) {
      const arrived = new Promise<void>((r) => {
        got = r;
      });
      const t = performance.now();
      await pub.query("SELECT pg_notify('rampart_bench_floor', $1)", [
        JSON.stringify({ kind: 'api_key', i }),
      ]);
      await arrived;
      out.push(performance.now() - t);
    }
  } finally {
    await pub.end();
    await sub.end();
  }
  return out;
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const base = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  const n = opts.full ? 500 : 100;
  const command = `npm run bench -- multinode${opts.full ? ' --full' : ''}`;
  if (!base) {
    return {
      id: 'multinode',
      title: 'Revocation across nodes',
      command,
      intro: 'Needs `TEST_DATABASE_URL` (and `REDIS_URL` for the Redis bus): two nodes share one PostgreSQL.',
      tables: [],
      notes: ['Skipped: TEST_DATABASE_URL is not set.'],
      failures: [],
    };
  }
  const buses = [
    ...(redisUrl ? [{ name: 'Redis pub/sub', kind: 'redis' as const, env: { REDIS_URL: redisUrl } }] : []),
    { name: 'PostgreSQL LISTEN/NOTIFY', kind: 'postgres' as const, env: {} },
  ];
  const rows: string[][] = [];
  const figures: Figure[] = [];
  const failures: string[] = [];
  for (const bus of buses) {
    const db: PgDatabase = await createPgDatabase({ base, prefix: 'rampart_bench' });
    const nodes: Node[] = [];
    try {
      const env = { ...bus.env, DATABASE_URL: db.url };
      nodes.push(await startNode(env), await startNode(env));
      const [a, b] = nodes as [Node, Node];
      const m = await measureRevocations(a, b, n);
      const floor = stats(
        await bareRoundTrips(bus.kind, bus.kind === 'redis' ? (redisUrl as string) : db.url, n),
      );
      const req = stats(m.fromRequest);
      const ans = stats(m.fromAnswer);
      rows.push([
        bus.name,
        String(n),
        ms(req.p50),
        ms(req.p99),
        ms(req.max),
        ms(ans.p99),
        String(m.stale),
        `${ms(floor.p50)} / ${ms(floor.p99)}`,
      ]);
      figures.push({
        figure: `Revoke on A → first refusal on B, p99 (${bus.name})`,
        ours: ms(req.p99),
        peer: `bare ${bus.kind === 'redis' ? 'PUBLISH' : 'NOTIFY'} p99 ${ms(floor.p99)}; before the bus: up to ${CREDENTIAL_CACHE_TTL_MS} ms`,
        ratio: `${(req.p99 / Math.max(floor.p99, 0.001)).toFixed(1)}× the bare message`,
        target: `< ${TARGET_P99_MS} ms`,
      });
      if (req.p99 >= TARGET_P99_MS)
        failures.push(`${bus.name}: revocation p99 ${ms(req.p99)} is over the ${TARGET_P99_MS} ms target`);
    } finally {
      for (const node of nodes) await node.rampart.close();
      await db.drop();
    }
  }
  const table: Table = {
    caption: `${n} revocations per bus, two nodes in one process on one PostgreSQL (loopback)`,
    header: [
      'Bus',
      'Revocations',
      'p50 from the DELETE',
      'p99 from the DELETE',
      'max',
      'p99 after A answered',
      'Stale answers from B',
      'Bare message p50 / p99 (same run)',
    ],
    rows,
  };
  return {
    id: 'multinode',
    title: 'Revocation across nodes',
    command,
    intro:
      'Two Rampart nodes share one PostgreSQL. For each sample an API key is created on node A, used once on node ' +
      'B (so B caches it), revoked on A, and B is asked again in a tight loop until it answers 401. The time runs ' +
      'from sending the DELETE to A (its database work included) to B\'s first refusal; "after A answered" runs ' +
      "from A's reply. The baseline is the bare transport in the same run: one message from a plain client to a " +
      'subscribed one. Before the node bus, B kept serving a revoked key until its cache entry expired (up to ' +
      `${CREDENTIAL_CACHE_TTL_MS} ms); that TTL is still the bound when a message is lost.`,
    tables: [figureTable('Key figures', figures), table],
    notes: [
      'Both nodes run in the bench process (one event loop), each with its own database pool and bus ' +
        'connections; the messages cross real Redis and PostgreSQL sockets on loopback.',
      `Run alone: ${standaloneCommand('bench/multinode.ts', opts, true)}`,
    ],
    failures,
    headline: figures,
  };
}

await runWhenMain(import.meta.url, run);
