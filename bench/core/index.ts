// Core primitives, each against its floor or raw peer in the same run: envelope encryption (seal/open), API-key
// verification (cache miss and hit), the hash-chained audit log (appends, group commit, verification) and quota
// admission under contention. PGlite always; PostgreSQL too when TEST_DATABASE_URL is set.
// Run alone: [TEST_DATABASE_URL=...] node --import tsx bench/core/index.ts [--full]
import { benchEngines } from '../lib/rampart.js';
import { POSTGRES_HOW, runWhenMain, standaloneCommand } from '../lib/standalone.js';
import { type BenchOptions, type BenchSection, type Figure, figureTable } from '../lib/types.js';
import { measureApiKeys } from './apikeys.js';
import { measureAudit } from './audit.js';
import { measureQuota } from './quota.js';
import { fmtCore } from './rates.js';
import { measureSeal } from './seal.js';
import { engineTag, type Plan, planFor, startInstance } from './setup.js';

const describePlan = (p: Plan) =>
  `${p.rounds} rounds of ${fmtCore.count(p.timeMs)} ms per subject (sealing: half that), ${fmtCore.count(p.keys)} API keys, ` +
  `${p.batchRounds} batcher rounds of ${fmtCore.count(p.batchRows)} rows (a ` +
  `${fmtCore.count(p.batchRounds * p.batchRows)}-row chain to verify, ${p.verifyRounds} passes per approach), ` +
  `${fmtCore.count(p.quotaCalls)} admissions per point and round × ${p.quotaRounds} at ` +
  `${p.concurrencies.join(', ')} callers`;

export async function run(opts: BenchOptions): Promise<BenchSection> {
  const failures: string[] = [];
  const plan = planFor(opts.full);
  const sealed = await measureSeal(plan, failures);

  const keyFigures: Figure[] = [];
  // The cache hit never reaches the database: measured once, on the first engine, and shown last.
  let warmFigure: Figure | undefined;
  const auditFigures: Figure[] = [];
  const quotaFigures: Figure[] = [];
  const quotaNotes: string[] = [];
  const labels: string[] = [];
  const verified: string[] = [];
  const analysed: string[] = [];
  let poolMax: number | undefined;
  // The summary table gets the last engine's figures: PostgreSQL when it was measured (the production setup).
  let engineHeadline: Figure[] = [];
  const engines = benchEngines();
  for (const [n, engine] of engines.entries()) {
    const inst = await startInstance(engine, plan);
    try {
      labels.push(inst.label);
      if (engine === 'postgres') poolMax = inst.rampart.services.config.RAMPART_DB_POOL_MAX;
      const keys = await measureApiKeys(inst, plan, n === 0, failures);
      keyFigures.push(...keys.cold);
      warmFigure ??= keys.warm;
      const audit = await measureAudit(inst, plan, failures);
      auditFigures.push(...audit.figures);
      verified.push(fmtCore.count(audit.verifiedRows));
      analysed.push(`${engineTag(inst)} ${audit.analysedBefore ? 'yes' : 'no'}`);
      const quota = await measureQuota(inst, plan, failures);
      quotaFigures.push(...quota.figures);
      quotaNotes.push(...quota.notes);
      engineHeadline = [...keys.headline, ...audit.headline, ...quota.headline];
    } finally {
      await inst.close();
    }
  }
  if (warmFigure) keyFigures.push(warmFigure);
  const chainRows = [...new Set(verified)].join(' / ');

  const maxCallers = Math.max(...plan.concurrencies);
  const callers = plan.concurrencies.filter((c) => c > 1).join(' and ');
  const postgres = Boolean(process.env.TEST_DATABASE_URL);
  return {
    id: 'core',
    title: 'Core primitives: sealing, API-key verification, audit chain, quota admission',
    command: standaloneCommand('bench/core/index.ts', opts, postgres),
    intro: [
      'Four primitives every request or mutation goes through, each called in-process (no HTTP) and measured ' +
        'against a raw peer or a floor in the same run; rates are per second from one caller unless said ' +
        `otherwise. Databases: ${labels.join(' and ')}, each a fresh Rampart (migrations, no job runner) set ` +
        'up through its own API: a user, their orgs, and API keys created with `POST /api/orgs/:id/api-keys`.',
      "**Sealing**: `seal` and `openString` from `@rampart/core/seal` (AES-256-GCM under the key ring's " +
        "primary key, the value's place bound as AAD, base64url envelope) against `createCipheriv` / " +
        "`createDecipheriv('aes-256-gcm')` with the same 32-byte key, a fresh 12-byte IV per call, the same AAD " +
        'bytes and the same plaintext. Ratio = Rampart ÷ raw: the cost of the envelope. **API keys**: the ' +
        "server's `Authenticator` turning a bearer `rk_live_…` key into a principal. Cold is a cache miss (a " +
        "new Authenticator per call, cycling through the org's keys): parse, SHA-256, and the " +
        '`rampart_find_api_key` lookup in its own transaction as the application role; its floor is `SELECT 1` ' +
        'in a bare transaction (BEGIN, SELECT 1, COMMIT) on the same engine and pool (PGlite: its one ' +
        'connection), the cheapest unit of work ' +
        'the database layer has. Warm is a cache hit; its peer is one raw SHA-256 of the key.',
      `**Audit log**: \`appendAudit\` (lock the chain head, insert the row with its hash, move the head) in its ` +
        'own org transaction, and the group-commit `AuditBatcher` (rows enqueued at once, then `close()`), each ' +
        "against the same rows without the chain: a scratch table with audit_log's event columns, constraints, " +
        'indexes and row-level security but no `prev_hash`/`hash` (seq from an identity column), written in the ' +
        'same transaction pattern after the same `prepareAudit` validation. The ratio is the cost of the hash ' +
        `chain. \`verifyChain\` then re-checks the batch org's whole chain (${chainRows} rows), once on the ` +
        'table as the appends left it and then, after `ANALYZE audit_log`, in interleaved passes against the ' +
        'same cursor read only reading the rows (the floor of any verifier) and the same read plus a ' +
        "SHA-256 of each row's fields (a check with no chain logic). **Quota**: `admitMessage`, the widget's per-message " +
        `admission (four statements, the last a guarded UPDATE of the month's counter), each in its own org ` +
        `transaction, at 1 caller against \`SELECT 1\` in the same transaction, and at ${callers} closed-loop ` +
        "callers all on one org's counter against as many callers each on its own org's counter (no " +
        'contention): that ratio is what the shared row lock costs.',
      'The run fails on a wrong result: a sealed value that does not open to itself, or opens after being moved ' +
        'or altered; a key resolving to the wrong principal, or an unknown, malformed or revoked key accepted; ' +
        'a chain that does not verify or a row count that does not match; an admission that errors or is not ' +
        'counted exactly once; more (or fewer) grants than the limit leaves when callers race past it.',
    ].join('\n\n'),
    headline: [
      ...sealed.figures
        .slice(0, 1)
        .map((f) => ({ ...f, figure: 'Envelope seals/s (AES-256-GCM), 64 B secret' })),
      ...engineHeadline,
    ],
    tables: [
      figureTable('Envelope encryption (AES-256-GCM), one thread', sealed.figures),
      figureTable('API-key verification', keyFigures),
      figureTable('Audit log appends and verification', auditFigures),
      figureTable(
        'Quota admission (`admitMessage`), closed loop; cells give throughput, p50 and p99 latency',
        quotaFigures,
      ),
    ],
    notes: [
      ...sealed.notes,
      'API keys: before timing, every key resolves to its own id and org, and an unknown well-formed key, a ' +
        'malformed one and a key revoked through `DELETE /api/orgs/:id/api-keys/:keyId` are refused with ' +
        "`unauthorized` (the revoked one both by the node's Authenticator, which had it cached, and on a cache " +
        'miss). A successful lookup also writes `last_used_at` at most once a minute per key, off the request ' +
        'path; the bench sets it before each round so those writes stay out of the measured time. The warm ' +
        'figure verifies 100 primed keys per timed call; the cache keeps entries 5 s, so they are primed again ' +
        'before each round.',
      "Audit: after the single appends that org's chain is verified too; every batcher round checks that " +
        'exactly the enqueued rows were written (the batcher logs and drops a failed batch rather than throwing).',
      '`verifyChain` reads the chain through one cursor (`DECLARE … ORDER BY chain, seq`, fetched 1,000 rows ' +
        'at a time): one plan and one ordered scan per pass. It used to page with a fresh `seq >= $n … LIMIT ' +
        "1000` query; without statistics on audit_log the planner then read and sorted the org's whole log for " +
        'every page, so a pass grew with the square of the chain (this bench found it: 200k rows verified at ' +
        '6,365 rows/s on PGlite before ANALYZE and 27,123 after). PGlite runs without autovacuum, so an ' +
        'embedded deployment never has those statistics; the "never analysed" row checks that they no longer ' +
        'matter' +
        (analysed.length > 0 ? ` (analysed before the first pass in this run: ${analysed.join(', ')})` : '') +
        '.',
      ...quotaNotes,
      'Quota: PGlite has one connection and runs transactions one at a time, so its callers queue rather than ' +
        'contend.' +
        (poolMax === undefined
          ? ''
          : ` PostgreSQL uses Rampart's default pool of ${poolMax} connections, so at ${maxCallers} callers ` +
            (maxCallers > poolMax
              ? `only ${poolMax} are in the database at once and the rest wait for a connection.`
              : 'every caller has its own connection.')) +
        ' The counters are reset before each measured run (outside the timing), and every run checks that they ' +
        'rose by exactly the admissions made. Latency at N callers is mostly queueing (about N ÷ throughput).',
      'Timing: tinybench medians per call (batched for the µs-scale figures) in interleaved rounds, the subject ' +
        'going first rotating each round, and the median of the rounds; batcher and verification passes are ' +
        'timed whole, rounds alternating, median of the rounds; quota points are closed loops pooled over ' +
        `rounds. ${opts.full ? '`--full`' : 'Quick mode'}: ${describePlan(plan)}.` +
        (opts.full ? '' : ` \`--full\`: ${describePlan(planFor(true))}.`),
      ...(postgres ? [] : [POSTGRES_HOW]),
    ],
    failures,
  };
}

await runWhenMain(import.meta.url, run);
