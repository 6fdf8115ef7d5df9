// Chat widget: messages/s through the full public widget path (origin, visitor token, rate limits, quota
// admission, retrieval, the model call through the org's provider, the message record) with a local model
// stub, against the same load sent straight to the stub and through POST /v1/chat/completions; and the cost
// of quota admission under contention against its peers. On PGlite and (when TEST_DATABASE_URL is set) on
// PostgreSQL.
// Run alone: node --import tsx bench/widget/index.ts [--full]
import { pathToFileURL } from 'node:url';
import type { EngineName } from '../../packages/server/src/db/types.js';
import { LoadWorker } from '../lib/http-load.js';
import { machine } from '../lib/machine.js';
import { renderSection } from '../lib/markdown.js';
import type { BenchOptions, BenchSection } from '../lib/types.js';
import { type EngineResult, Loader, measureAdmission, measureHttp } from './measure.js';
import { profileWidget, timePieces } from './profile.js';
import { report } from './report.js';
import { planFor, STUB_PATH, STUB_RESPONSE, startRampart } from './setup.js';

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const plan = planFor(opts.full);
  const failures: string[] = [];
  const engines: EngineName[] = ['pglite', ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];
  const worker = await LoadWorker.start();
  const loader = new Loader(worker, failures);
  const results: EngineResult[] = [];
  try {
    const stubOrigin = `http://127.0.0.1:${await worker.stub(STUB_PATH, STUB_RESPONSE)}`;
    for (const engine of engines) {
      const inst = await startRampart(engine, stubOrigin);
      const before = { sent: loader.sent, failed: loader.failed };
      try {
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
      } finally {
        await worker.closePools();
        await inst.close();
      }
    }
  } finally {
    await worker.close();
  }
  return report(opts, engines, results, failures);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const full = process.argv.includes('--full');
  const section = await run({ full });
  console.log(renderSection(section, machine(), full ? 'full' : 'quick'));
  for (const failure of section.failures) console.error(`FAIL: ${failure}`);
  process.exitCode = section.failures.length > 0 ? 1 : 0;
}
