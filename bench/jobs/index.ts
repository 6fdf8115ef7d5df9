// Scheduled-job runner throughput: how many due runs per second the runner dispatches end to end (claim, HTTP
// POST to a local stub, result recorded) with 1 and 2 runner instances on one PostgreSQL database, against a
// plain HTTP loop and against the same runs with the HTTP call refused before connecting, in one run. Every
// round checks that each due run reached the stub exactly once and has exactly one job_runs row.
// Without TEST_DATABASE_URL it runs on PGlite with 1 instance (PGlite is in-process: it cannot be shared).
// Run alone: node --import tsx bench/jobs/index.ts [--full]
import { createPgDatabase, type PgDatabase } from '@rampart/testing';
import { engineLabel } from '../lib/rampart.js';
import { runWhenMain } from '../lib/standalone.js';
import type { BenchOptions, BenchSection } from '../lib/types.js';
import { Instance } from './instance.js';
import { Clock, JOB_BODY, type LoopResult, planFor, REFUSED_URL, type Round, Runner } from './measure.js';
import { type ConfigResult, type EngineResult, report } from './report.js';
import { startStub } from './stub.js';

/** RAMPART_JOB_CONCURRENCY: the default, and a larger setting. */
export const CONCURRENCIES = [16, 64] as const;
const DEFAULT_CONCURRENCY = CONCURRENCIES[0];
/** Orgs in the unreported warm-up round of each configuration. */
const WARMUP_ORGS = 2;

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const plan = planFor(opts.full);
  const failures: string[] = [];
  const base = process.env.TEST_DATABASE_URL;
  const stub = await startStub();
  let pgDb: PgDatabase | undefined;
  let result: EngineResult;
  try {
    pgDb = base ? await createPgDatabase({ base, prefix: 'rampart_bench' }) : undefined;
    const label = engineLabel(pgDb);
    const runner = new Runner(stub, new Clock(), plan, failures, label);
    const configs: ConfigResult[] = [];
    const loops: LoopResult[] = [];
    let setUp = false;
    for (const concurrency of CONCURRENCIES) {
      const url = pgDb?.url;
      // PostgreSQL: two instances on the one database. PGlite: one instance with a database of its own.
      const insts: Instance[] = [];
      try {
        insts.push(await Instance.start({ ...(url ? { databaseUrl: url } : {}), concurrency }));
        if (url) insts.push(await Instance.start({ databaseUrl: url, concurrency }));
        const [a] = insts;
        if (a === undefined) throw new Error('no instance');
        if (!setUp) await a.setup(plan.orgs, plan.jobsPerOrg, stub.url, JOB_BODY);
        setUp = url !== undefined;

        // Warm-up (JIT, pools, connections), not reported: a small round on every instance together.
        await a.retarget(REFUSED_URL);
        await runner.round(insts, 'refused', concurrency, { orgs: WARMUP_ORGS });
        const refused1 = await runner.round([a], 'refused', concurrency);
        const refused2 = insts.length > 1 ? await runner.round(insts, 'refused', concurrency) : undefined;
        await a.retarget(stub.url);
        for (const i of insts) await runner.http(i, 'guarded', stub.url, plan.httpRequests / 5, concurrency);
        await runner.http(a, 'plain', stub.url, plan.httpRequests / 5, concurrency);
        const plain = await runner.http(a, 'plain', stub.url, plan.httpRequests, concurrency);
        const guarded = await runner.http(a, 'guarded', stub.url, plan.httpRequests, concurrency);

        const one: Round[] = [];
        const two: Round[] = [];
        for (let rep = 0; rep < plan.reps; rep++) {
          // Interleaved, starting with the other one each time, so drift falls on both.
          for (const n of rep % 2 === 0 ? [1, 2] : [2, 1]) {
            if (n === 1) one.push(await runner.round([a], 'stub', concurrency));
            else if (insts.length > 1) two.push(await runner.round(insts, 'stub', concurrency));
          }
        }
        const atDefault = concurrency === DEFAULT_CONCURRENCY;
        const profiled = atDefault
          ? await runner.round([a], 'stub', concurrency, { profile: true })
          : undefined;
        configs.push({ concurrency, one, two, refused1, refused2, plain, guarded, profiled });
        if (atDefault) {
          loops.push(await runner.loop([a], plan.orgs, concurrency));
          if (insts.length > 1) loops.push(await runner.loop(insts, plan.orgs, concurrency));
          loops.push(await runner.loop([a], 1, concurrency));
        }
      } finally {
        for (const i of insts) await i.close();
      }
    }
    result = { label, instances: pgDb ? 2 : 1, configs, loops };
  } finally {
    await stub.close();
    await pgDb?.drop();
  }
  return report(opts, plan, result, failures);
}

await runWhenMain(import.meta.url, run);
