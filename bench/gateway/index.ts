// Gateway overhead: the same closed-loop load sent straight to a local upstream stub and through Rampart's
// POST /v1/chat/completions (org API key, PII redaction on), in one run, on PGlite and (when
// TEST_DATABASE_URL is set) on PostgreSQL.
// Run alone: node --import tsx bench/gateway/index.ts [--full]
import { redactChatMessages } from '../../packages/core/src/redact/index.js';
import { LoadWorker } from '../lib/http-load.js';
import { medianUs } from '../lib/latency.js';
import { loadAverage } from '../lib/machine.js';
import { benchEngines, forEachEngine } from '../lib/rampart.js';
import { runWhenMain } from '../lib/standalone.js';
import type { BenchOptions, BenchSection } from '../lib/types.js';
import { type EngineResult, Loader, measureEngine, type Pair, target } from './measure.js';
import { report } from './report.js';
import {
  CONCURRENCIES,
  MESSAGES,
  PATH,
  planFor,
  STUB_RESPONSE,
  startBareProxy,
  startRampart,
  UPSTREAM_KEY,
} from './setup.js';
import { measureProcesses, type ProcessesRun } from './workers.js';

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const plan = planFor(opts.full);
  const failures: string[] = [];
  const engines = benchEngines();
  const worker = await LoadWorker.start();
  const loader = new Loader(worker, failures);
  const results: EngineResult[] = [];
  const bare: Pair[] = [];
  const load = { before: loadAverage(), after: '' };
  let processes: ProcessesRun | undefined;
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

    await forEachEngine(
      engines,
      worker,
      (engine) => startRampart(engine, stubOrigin),
      async (inst) => {
        results.push(await measureEngine(loader, inst, direct, plan, failures));
      },
    );
    // Several processes (RAMPART_WORKERS) need PostgreSQL.
    if (engines.includes('postgres'))
      processes = await measureProcesses(loader, worker, stubOrigin, direct, plan, failures);
  } finally {
    await worker.close();
    load.after = loadAverage();
  }
  const redactUs = await medianUs(plan.pieceRuns * 4, () => redactChatMessages(MESSAGES));

  return report(opts, engines, results, bare, redactUs, failures, processes, load);
}

await runWhenMain(import.meta.url, run);
