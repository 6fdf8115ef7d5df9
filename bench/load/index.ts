// Load and faults: the built server (`rampart start`) as a child process on loopback, PostgreSQL and Redis,
// driven by autocannon at a mix of gateway calls, widget messages and audit reads; a memory soak; and
// fault runs (kill -9, PostgreSQL restart, full PGlite disk) checking that nothing acknowledged is lost.
// Run alone: node --import tsx bench/load/index.ts [--full]
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createPgDatabase, freePort } from '@rampart/testing';
import { runWhenMain } from '../lib/standalone.js';
import type { BenchOptions, BenchSection, Figure, Table } from '../lib/types.js';
import { diskFull, type FaultResult, killNine, restartPostgres } from './faults.js';
import { MIX, type MixResult, percentile, runMix, slope, soak } from './mix.js';
import { PG_BASE, REDIS_URL, ServerProcess, serverEnv, setUpTenant, startStub } from './server.js';

const ms = (v: number) => (Number.isNaN(v) ? '–' : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`);
const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(2)} %`);

function mixTable(caption: string, r: MixResult): Table {
  const row = (name: string, conns: number, lat: number[], ok: number, non2xx: number, errors: number) => {
    const sorted = [...lat].sort((a, b) => a - b);
    const total = ok + non2xx + errors;
    return [
      name,
      String(conns),
      String(total),
      (total / r.seconds).toFixed(0),
      ms(percentile(sorted, 50)),
      ms(percentile(sorted, 99)),
      pct(non2xx + errors, total),
    ];
  };
  const rows = r.routes.map((s) => {
    const other = [...s.statuses].filter(([k]) => k < 200 || k >= 300);
    const cells = row(s.route, s.connections, s.latencies, s.ok, s.non2xx, s.errors);
    cells.push(
      other.length === 0 && s.errors === 0
        ? '–'
        : `${other.map(([k, n]) => `${k}×${n}`).join(' ')} errors×${s.errors}`,
    );
    return cells;
  });
  const all = r.routes.flatMap((s) => s.latencies);
  const sum = (f: (s: MixResult['routes'][number]) => number) => r.routes.reduce((t, s) => t + f(s), 0);
  const overall = row(
    '**all routes**',
    sum((s) => s.connections),
    all,
    sum((s) => s.ok),
    sum((s) => s.non2xx),
    sum((s) => s.errors),
  );
  overall.push('');
  rows.push(overall);
  return {
    caption,
    header: ['Route', 'Connections', 'Requests', 'req/s', 'p50', 'p99', 'Non-2xx + errors', 'Non-2xx detail'],
    rows,
  };
}

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const failures: string[] = [];
  const notes: string[] = [];
  const tables: Table[] = [];
  const mixS = opts.full ? 120 : 30;
  const soakS = opts.full ? 600 : 60;
  const stub = await startStub();
  let soakFlat = 'not measured';
  const headline: Figure[] = [];

  // --- 1 and 2: mixed load and soak on PostgreSQL + Redis --------------------------------------------------
  const db = await createPgDatabase({ base: PG_BASE, prefix: 'rampart_bench' });
  const env = serverEnv(await freePort(), { url: db.url });
  let server: ServerProcess | undefined;
  try {
    server = await ServerProcess.start(env);
    const tenant = await setUpTenant(server.origin, stub.origin, db.url);
    await runMix(server, tenant, 5); // warm-up, not recorded
    const mix = await runMix(server, tenant, mixS);
    tables.push(mixTable(`Mixed load, ${mixS} s, PostgreSQL ${db.version} + Redis`, mix));
    {
      const all = mix.routes.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const total = mix.routes.reduce((t, r) => t + r.ok + r.non2xx + r.errors, 0);
      const bad = mix.routes.reduce((t, r) => t + r.non2xx + r.errors, 0);
      headline.push({
        figure: `Mixed load on loopback (gateway, widget, audit reads; PostgreSQL + Redis), ${mixS} s`,
        ours: `${(total / mix.seconds).toFixed(0)} req/s, p50 ${ms(percentile(all, 50))}, p99 ${ms(percentile(all, 99))}`,
        peer: '–',
        ratio: '–',
        target: `0 % errors ${bad === 0 ? '✓' : `✗ (${pct(bad, total)})`}`,
      });
    }
    const { mix: soakMix, samples } = await soak(server, tenant, soakS, 5);
    const rss = samples.map((s) => s.rssMb);
    const settled = samples.filter((s) => s.atS >= soakS * 0.2);
    const rssSlope = slope(
      settled.map((s) => s.atS / 60),
      settled.map((s) => s.rssMb),
    );
    const heapSlope = slope(
      settled.map((s) => s.atS / 60),
      settled.map((s) => s.heapMb),
    );
    const committedSlope = slope(
      settled.map((s) => s.atS / 60),
      settled.map((s) => s.heapTotalMb),
    );
    // Heap *used* saws up and down with each collection, so its slope over a short soak is noise; the verdict
    // reads RSS and the heap V8 has committed, which only grow when the live set does.
    const flat = Math.abs(rssSlope) <= 2 && Math.abs(committedSlope) <= 2;
    soakFlat = `${flat ? 'flat' : 'not flat'} (RSS ${rssSlope.toFixed(2)} MB/min, heap committed ${committedSlope.toFixed(2)} MB/min)`;
    // The lowest heap-used sample of each minute: close to the live set after a collection.
    const floors: number[] = [];
    for (const s of samples) {
      const minute = Math.floor(s.atS / 60);
      floors[minute] = Math.min(floors[minute] ?? Number.POSITIVE_INFINITY, s.heapMb);
    }
    tables.push({
      caption: `Memory over the ${soakS} s soak (${opts.full ? 'full mode' : 'quick mode: NOT the 10-minute soak'}), sampled every 5 s`,
      header: ['Figure', 'Value'],
      rows: [
        [
          'RSS start / end / max',
          `${rss[0]?.toFixed(0)} / ${rss.at(-1)?.toFixed(0)} / ${Math.max(...rss).toFixed(0)} MB`,
        ],
        [
          'Heap used start / end / max',
          `${samples[0]?.heapMb.toFixed(0)} / ${samples.at(-1)?.heapMb.toFixed(0)} / ${Math.max(...samples.map((s) => s.heapMb)).toFixed(0)} MB`,
        ],
        [
          'Heap committed start / end / max',
          `${samples[0]?.heapTotalMb.toFixed(0)} / ${samples.at(-1)?.heapTotalMb.toFixed(0)} / ${Math.max(...samples.map((s) => s.heapTotalMb)).toFixed(0)} MB`,
        ],
        [
          'External (Buffers, WASM) start / end',
          `${samples[0]?.externalMb.toFixed(0)} / ${samples.at(-1)?.externalMb.toFixed(0)} MB`,
        ],
        ['RSS slope after the first 20 %', `${rssSlope.toFixed(2)} MB/min`],
        ['Heap committed slope after the first 20 %', `${committedSlope.toFixed(2)} MB/min`],
        ['Heap used slope after the first 20 % (saw-tooth, for reference)', `${heapSlope.toFixed(2)} MB/min`],
        ['Heap used, lowest sample of each minute (MB)', floors.map((v) => v.toFixed(0)).join(' ')],
        ['Verdict (flat: RSS and committed-heap slopes within ±2 MB/min)', flat ? 'flat' : 'NOT flat'],
        [
          `RSS samples (MB, every ${opts.full ? 30 : 5} s)`,
          rss
            .filter((_, i) => i % (opts.full ? 6 : 1) === 0)
            .map((v) => v.toFixed(0))
            .join(' '),
        ],
      ],
    });
    tables.push(mixTable(`Soak traffic, ${soakS} s (same mix)`, soakMix));
    if (!flat) notes.push(`The soak's memory was not flat: ${soakFlat}.`);
    headline.push({
      figure: `Server memory over a ${soakS} s soak of the same mix`,
      ours: `RSS ${rssSlope.toFixed(2)} MB/min, heap committed ${committedSlope.toFixed(2)} MB/min`,
      peer: '–',
      ratio: '–',
      target: `flat (±2 MB/min) ${flat ? '✓' : '✗'}`,
    });
  } finally {
    await server?.stop();
    await db.drop();
  }

  // --- 3: faults ---------------------------------------------------------------------------------------------
  const faults: FaultResult[] = [];
  const attempt = async (what: string, fn: () => Promise<FaultResult>) => {
    try {
      faults.push(await fn());
    } catch (err) {
      notes.push(`${what}: not completed (${String(err).slice(0, 300)})`);
      failures.push(`${what}: ${String(err).slice(0, 200)}`);
    }
  };
  const pgKill = await createPgDatabase({ base: PG_BASE, prefix: 'rampart_bench' });
  try {
    await attempt('kill -9 (PostgreSQL)', async () =>
      killNine('PostgreSQL', await freePort(), { url: pgKill.url }),
    );
  } finally {
    await pgKill.drop();
  }
  const k9Dir = `/tmp/rampart-load-k9-${process.pid}`;
  await attempt('kill -9 (PGlite)', async () => killNine('PGlite', await freePort(), { dataDir: k9Dir }));
  rmSync(k9Dir, { recursive: true, force: true });
  const clusters = existsSync('/etc/postgresql')
    ? readdirSync('/etc/postgresql').flatMap((v) =>
        readdirSync(`/etc/postgresql/${v}`).map((c) => `${v}/${c}`),
      )
    : [];
  const isRoot = process.getuid?.() === 0;
  if (clusters.length === 1 && isRoot && process.env.LOAD_SKIP_PG_RESTART !== '1') {
    const pgR = await createPgDatabase({ base: PG_BASE, prefix: 'rampart_bench' });
    try {
      await attempt('restart PostgreSQL', async () =>
        restartPostgres(await freePort(), pgR.url, clusters[0] ?? ''),
      );
    } finally {
      await pgR.drop().catch(() => {});
    }
  } else
    notes.push(`PostgreSQL restart not done (clusters: ${clusters.join(', ') || 'none'}, root: ${isRoot}).`);
  if (isRoot)
    await attempt('disk full', async () =>
      diskFull(await freePort(), `/tmp/rampart-load-full-${process.pid}`),
    );
  else notes.push('Disk-full run not done: mounting a small tmpfs needs root.');
  await stub.close();

  for (const f of faults) {
    if (f.lost > 0) failures.push(`${f.scenario}: ${f.lost} acknowledged writes lost`);
    if (!f.verify.startsWith('exit 0')) failures.push(`${f.scenario}: audit verify ${f.verify}`);
    for (const n of f.notes) notes.push(`${f.scenario}: ${n}.`);
  }
  tables.push({
    caption:
      'Faults under write load (PUT /api/orgs/:orgId/secrets/:name, unique names, 16 writers; disk full: 8 writers of 16 KB)',
    header: [
      'Scenario',
      'Sent',
      'Acknowledged (200)',
      'Failed answers',
      'Longest outage',
      'Acked but missing',
      'Unacked but present',
      'audit verify',
    ],
    rows: faults.map((f) => [
      f.scenario,
      String(f.sent),
      String(f.acked),
      f.failed,
      `${f.outageS.toFixed(1)} s`,
      String(f.lost),
      String(f.extra),
      f.verify,
    ]),
  });

  for (const f of faults)
    headline.push({
      figure: `Fault under write load: ${f.scenario}`,
      ours: `${f.lost} of ${f.acked} acknowledged writes lost; audit verify ${f.verify}`,
      peer: '–',
      ratio: '–',
      target: `nothing lost, chain verifies ${f.lost === 0 && f.verify.startsWith('exit 0') ? '✓' : '✗'}`,
    });
  return {
    id: 'load',
    headline,
    title: 'Load and faults',
    command: `npm run bench -- load${opts.full ? ' --full' : ''}`,
    intro:
      `The built server (\`node packages/cli/dist/bin.js start\`, NODE_ENV=production) runs as a child process on ` +
      `loopback, on a throwaway PostgreSQL database (\`${PG_BASE.replace(/\/[^/]*$/, '/…')}\`) with Redis ` +
      `(\`${REDIS_URL}\`) for rate limits. autocannon 9 drives a mix of ${MIX.gateway} gateway connections ` +
      `(API key, to a local stub model provider), ${MIX.widget} widget connections (allowed Origin, visitor ` +
      `token, widget limits at their maximum, 1,024 client addresses via X-Forwarded-For) and ${MIX.audit} ` +
      `audit-read connections (session); generator, stub and server share the machine's cores, so the ` +
      `throughput is a floor for this hardware, not a capacity figure. Soak verdict: ${soakFlat}. The ` +
      `PostgreSQL restart run restarts the machine's shared cluster for a few seconds.`,
    tables,
    notes,
    failures,
  };
}

await runWhenMain(import.meta.url, run);
