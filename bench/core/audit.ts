// The hash-chained audit log: single-row appends in their own transaction, the group-commit AuditBatcher, and
// chain verification, each against the same work without the chain in the same database.
import { createHash } from 'node:crypto';
import { appendAudit, prepareAudit } from '../../packages/server/src/platform/audit/append.js';
import { AuditBatcher } from '../../packages/server/src/platform/audit/batcher.js';
import { verifyChain } from '../../packages/server/src/platform/audit/verify.js';
import type { Figure } from '../lib/types.js';
import { createPlainTable, insertPlain, mutation, readChain, rowCount, usageRow } from './audit-peers.js';
import { fmtCore, interleavedRates, median, rateOf } from './rates.js';
import { engineTag, type Instance, type Plan } from './setup.js';

export interface AuditResult {
  readonly figures: Figure[];
  /** For the summary table: the batcher and verification figures, named to stand alone. */
  readonly headline: Figure[];
  /** Rows in the verified chain. */
  readonly verifiedRows: number;
  /** Whether the audit table had statistics (an ANALYZE, manual or by autovacuum) before the first pass. */
  readonly analysedBefore: boolean;
}

export async function measureAudit(inst: Instance, plan: Plan, failures: string[]): Promise<AuditResult> {
  const { db, logger } = inst.rampart.services;
  const tag = engineTag(inst);
  await createPlainTable(db);
  const figures: Figure[] = [];

  // Single rows, each its own org transaction, as a mutation's audit row is written.
  const org = inst.auditOrgId;
  const [actor, event] = mutation(org);
  const single = await interleavedRates(
    [
      { name: 'chained', ops: 1, fn: () => db.org(org, (q) => appendAudit(q, actor, event)) },
      { name: 'plain', ops: 1, fn: () => db.org(org, (q) => insertPlain(q, [prepareAudit(actor, event)])) },
    ],
    plan.rounds,
    { iterations: 20, timeMs: plan.timeMs, warmupIterations: 20 },
  );
  const singleCheck = await db.org(org, (q) => verifyChain(q, org));
  const singleRows = await rowCount(db, 'audit_log', org);
  if (!singleCheck.ok || singleCheck.count !== singleRows)
    failures.push(
      `audit (${tag}): after single appends the chain ${JSON.stringify(singleCheck)} has ${singleRows} rows`,
    );
  const [chained, plain] = [rateOf(single, 'chained'), rateOf(single, 'plain')];
  figures.push({
    figure: `${tag}: single-row appends, each its own transaction (\`appendAudit\`), one caller`,
    ours: fmtCore.perSecond(chained, ' rows/s'),
    peer: `plain INSERT of the same row, no chain: ${fmtCore.perSecond(plain, ' rows/s')}`,
    ratio: fmtCore.ratio(chained / plain),
    target: '–',
  });

  // Group commit: N rows enqueued at once, then close() (everything committed).
  const batchOrg = inst.batchOrgId;
  const pending = Array.from({ length: plan.batchRows }, (_, i) => usageRow(batchOrg, i));
  const batcherRates: number[] = [];
  const plainRates: number[] = [];
  const viaBatcher = async () => {
    const before = await rowCount(db, 'audit_log', batchOrg);
    const batcher = new AuditBatcher(db, logger);
    const t0 = performance.now();
    for (const p of pending) batcher.enqueue(batchOrg, p.actor, p.event);
    await batcher.close();
    batcherRates.push(pending.length / ((performance.now() - t0) / 1000));
    const written = (await rowCount(db, 'audit_log', batchOrg)) - before;
    if (written !== pending.length)
      failures.push(`audit (${tag}): ${pending.length} rows enqueued, ${written} written by the batcher`);
  };
  const viaPlain = async () => {
    const t0 = performance.now();
    for (let i = 0; i < pending.length; i += 1000) {
      const slice = pending.slice(i, i + 1000);
      await db.org(batchOrg, (q) =>
        insertPlain(
          q,
          slice.map((p) => prepareAudit(p.actor, p.event)),
        ),
      );
    }
    plainRates.push(pending.length / ((performance.now() - t0) / 1000));
  };
  for (let round = 0; round < plan.batchRounds; round++) {
    if (round % 2 === 0) {
      await viaBatcher();
      await viaPlain();
    } else {
      await viaPlain();
      await viaBatcher();
    }
  }
  const [batched, plainBatched] = [median(batcherRates), median(plainRates)];
  figures.push({
    figure: `${tag}: \`AuditBatcher\`, ${fmtCore.count(plan.batchRows)} rows enqueued then \`close()\` (1,000 rows a transaction)`,
    ours: fmtCore.perSecond(batched, ' rows/s'),
    peer: `plain multi-row INSERTs, 1,000 rows a transaction: ${fmtCore.perSecond(plainBatched, ' rows/s')}`,
    ratio: fmtCore.ratio(batched / plainBatched),
    target: '–',
  });

  // Verification of the batch org's whole chain, against reading it with the same query.
  const expected = await rowCount(db, 'audit_log', batchOrg);
  const verifyPass = async () => {
    const r = await db.org(batchOrg, (q) => verifyChain(q, batchOrg));
    if (!r.ok || r.count !== expected)
      failures.push(`audit (${tag}): verifyChain over ${expected} rows gave ${JSON.stringify(r)}`);
    return r.count;
  };
  // First one pass on the table as the appends left it. PGlite never analyses a table by itself (no
  // autovacuum), and PostgreSQL's autovacuum may not have yet: without statistics the planner reads every row
  // of the org for each page. Then ANALYZE, and the interleaved passes.
  const { rows: stats } = await db.owner((q) =>
    q.query<{ analysed: boolean }>(
      `SELECT (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL) AS analysed
         FROM pg_stat_user_tables WHERE relname = 'audit_log'`,
    ),
  );
  const analysedBefore = stats[0]?.analysed === true;
  const s0 = performance.now();
  const staleRate = (await verifyPass()) / ((performance.now() - s0) / 1000);
  await db.owner((q) => q.query('ANALYZE audit_log'));
  const times = { verify: [] as number[], read: [] as number[], hash: [] as number[] };
  let sink = 0;
  const steps: Array<[keyof typeof times, () => Promise<number>]> = [
    ['verify', verifyPass],
    ['read', () => db.org(batchOrg, (q) => readChain(q, batchOrg, (r) => (sink += r.hash.length)))],
    [
      'hash',
      () =>
        db.org(batchOrg, (q) =>
          readChain(q, batchOrg, (r) => {
            const text = JSON.stringify([r.id, r.org_id, r.seq, r.at.toISOString(), r.user_id, r.api_key_id]);
            const more = JSON.stringify([r.ip, r.user_agent, r.request_id, r.action, r.target, r.meta]);
            sink += createHash('sha256').update(text).update(more).digest('hex').length;
          }),
        ),
    ],
  ];
  for (let round = 0; round < plan.verifyRounds; round++) {
    for (let k = 0; k < steps.length; k++) {
      const step = steps[(round + k) % steps.length];
      if (step === undefined) continue;
      const t0 = performance.now();
      const rows = await step[1]();
      times[step[0]].push(rows / ((performance.now() - t0) / 1000));
      if (rows !== expected) failures.push(`audit (${tag}): ${step[0]} saw ${rows} of ${expected} rows`);
    }
  }
  if (sink === 0) failures.push(`audit (${tag}): the baselines read nothing`);
  const [verified, read, hashed] = [median(times.verify), median(times.read), median(times.hash)];
  const rows = (v: number) => fmtCore.perSecond(v, ' rows/s');
  figures.push(
    {
      figure: `${tag}: \`verifyChain\` over ${fmtCore.count(expected)} rows (one transaction, one cursor, pages of 1,000), table analysed`,
      ours: rows(verified),
      peer: `the same cursor and pages, rows only read: ${rows(read)}`,
      ratio: fmtCore.ratio(verified / read),
      target: '–',
    },
    {
      figure: `${tag}: \`verifyChain\` over ${fmtCore.count(expected)} rows, table analysed`,
      ours: rows(verified),
      peer: `the same cursor read plus SHA-256 of each row's fields, no chain checks: ${rows(hashed)}`,
      ratio: fmtCore.ratio(verified / hashed),
      target: '–',
    },
  );
  figures.push({
    figure:
      `${tag}: \`verifyChain\` over ${fmtCore.count(expected)} rows, table ` +
      (analysedBefore ? 'as autovacuum last analysed it' : 'never analysed (no planner statistics)'),
    ours: rows(staleRate),
    peer: `the same chain after \`ANALYZE audit_log\` (median above): ${rows(verified)}`,
    ratio: fmtCore.ratio(staleRate / verified),
    target: '–',
  });
  const [batcherFigure, verifyFigure] = [figures[1], figures[2]];
  const headline: Figure[] = [];
  if (batcherFigure)
    headline.push({
      ...batcherFigure,
      figure: `${tag}: hash-chained audit rows/s (\`AuditBatcher\` group commit)`,
    });
  if (verifyFigure)
    headline.push({
      ...verifyFigure,
      figure: `${tag}: audit chain verification rows/s (${fmtCore.count(expected)} rows)`,
    });
  return { figures, headline, verifiedRows: expected, analysedBefore };
}
