// Chat widget: messages/s through the full public widget path (origin, visitor token, rate limits, quota
// admission, retrieval, the model call through the org's provider, the message record) with a local model
// stub, against the same load sent straight to the stub and through POST /v1/chat/completions; and the cost
// of quota admission under contention against its peers. On PGlite and (when TEST_DATABASE_URL is set) on
// PostgreSQL.
// Run alone: node --import tsx bench/widget/index.ts [--full]
import { CheckedLoader } from '../lib/checked-load.js';
import { LoadWorker } from '../lib/http-load.js';
import { benchEngines, forEachEngine } from '../lib/rampart.js';
import { runWhenMain } from '../lib/standalone.js';
import type { BenchOptions, BenchSection } from '../lib/types.js';
import { type EngineResult, measureAdmission, measureHttp } from './measure.js';
import { profileWidget, timePieces } from './profile.js';
import { report } from './report.js';
import { planFor, STUB_PATH, STUB_RESPONSE, startRampart } from './setup.js';

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const plan = planFor(opts.full);
  const failures: string[] = [];
  const engines = benchEngines();
  const worker = await LoadWorker.start();
  const loader = new CheckedLoader(worker, failures);
  const results: EngineResult[] = [];
  try {
    const stubOrigin = `http://127.0.0.1:${await worker.stub(STUB_PATH, STUB_RESPONSE)}`;
    await forEachEngine(
      engines,
      worker,
      (engine) => startRampart(engine, stubOrigin),
      async (inst, engine) => {
        const before = { sent: loader.sent, failed: loader.failed };
        const { http, modelCall, widget, modelBody, settleWidget } = await measureHttp(
          loader,
          inst,
          stubOrigin,
          plan,
          failures,
        );
        const profile = await profileWidget(loader, widget, settleWidget, plan, engine);
        await worker.closePools();
        const { admission, exactness } = await measureAdmission(inst, plan, failures);
        const pieces = await timePieces(inst, plan, loader, stubOrigin, modelBody);
        const requests = { sent: loader.sent - before.sent, failed: loader.failed - before.failed };
        results.push({ label: inst.label, requests, http, modelCall, admission, exactness, profile, pieces });
      },
    );
  } finally {
    await worker.close();
  }
  return report(opts, engines, results, failures);
}

await runWhenMain(import.meta.url, run);
