// CPU-profile and database-piece timing for the gateway bench: where Rampart's thread spends its time, and
// pieces of each request timed alone on an idle server.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../packages/server/src/db/types.js';
import { appendAudit } from '../../packages/server/src/platform/audit/append.js';
import type { Target } from '../lib/checked-load.js';
import { profileThread } from '../lib/cpu-profile.js';
import { medianUs } from '../lib/latency.js';
import { httpCategorise, type ProfileResult, profileResult } from '../lib/rampart-profile.js';
import type { Loader } from './measure.js';
import { type Instance, MODEL, type Plan, TARGET_CONCURRENCY } from './setup.js';

/** Median µs of pieces of the request path, timed alone. */
export interface Pieces {
  readonly transaction: number;
  readonly audit: number;
  readonly auditBatched: number;
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
    profile: profileResult(profile, httpCategorise, plan.profileRequests, profiled),
    pieces: { transaction, audit, auditBatched },
  };
}
