// Quota admission under contention: the widget's per-message `admitMessage` (a guarded UPDATE of the org's
// monthly counter) with every caller on one org's row, against the same callers spread over one org each; and
// the exactness of both guarded reservations (messages, knowledge bytes) when callers race past the limit.
import type { Database } from '../../packages/server/src/db/database.js';
import { PLANS, periodOf } from '../../packages/server/src/widget/plans.js';
import { admitMessage, reserveKnowledge } from '../../packages/server/src/widget/quota.js';
import { closedLoop, type LoopResult, pooledLoops } from '../lib/closed-loop.js';
import { fmtLatency, type LatencySummary } from '../lib/latency.js';
import type { Figure } from '../lib/types.js';
import { fmtCore } from './rates.js';
import { engineTag, type Instance, type Plan } from './setup.js';

const period = () => periodOf(new Date());

async function setUsage(db: Database, orgId: string, messages: number): Promise<void> {
  await db.org(orgId, (q) =>
    q.query(
      `INSERT INTO org_usage (org_id, period, messages) VALUES ($1, $2, $3)
       ON CONFLICT (org_id, period) DO UPDATE SET messages = $3`,
      [orgId, period(), messages],
    ),
  );
}

async function usageOf(db: Database, orgId: string): Promise<number> {
  const { rows } = await db.org(orgId, (q) =>
    q.query<{ messages: number }>('SELECT messages FROM org_usage WHERE org_id = $1 AND period = $2', [
      orgId,
      period(),
    ]),
  );
  return rows[0]?.messages ?? 0;
}

async function knowledgeOf(db: Database, orgId: string): Promise<number> {
  const { rows } = await db.org(orgId, (q) =>
    q.query<{ bytes: string }>('SELECT knowledge_bytes::text AS bytes FROM org_billing WHERE org_id = $1', [
      orgId,
    ]),
  );
  return Number(rows[0]?.bytes ?? 0);
}

const describe = (errors: ReadonlyMap<string, number>) =>
  [...errors].map(([e, n]) => `${e} × ${n}`).join(', ');

const cell = (s: LatencySummary) =>
  `${fmtCore.perSecond(s.throughput)} · p50 ${fmtLatency.ms(s.p50)} · p99 ${fmtLatency.ms(s.p99)}`;

interface Point {
  readonly name: string;
  /** Orgs whose counters the point raises (checked: they rise by exactly the calls made). */
  readonly orgs: readonly string[];
  readonly fn: (loop: number) => Promise<unknown>;
}

export interface QuotaResult {
  readonly figures: Figure[];
  /** For the summary table: the most contended point against the same callers spread over orgs. */
  readonly headline: Figure[];
  readonly notes: string[];
}

export async function measureQuota(inst: Instance, plan: Plan, failures: string[]): Promise<QuotaResult> {
  const { db } = inst.rampart.services;
  const tag = engineTag(inst);
  const org = inst.orgId;
  // As the widget message route runs it: its own short org transaction.
  const admit = (orgId: string) => db.org(orgId, (q) => admitMessage(q, orgId, new Date()));
  const figures: Figure[] = [];

  for (const c of plan.concurrencies) {
    const spread = inst.spreadOrgIds.slice(0, c);
    const points: Point[] =
      c === 1
        ? [
            { name: 'admit', orgs: [org], fn: () => admit(org) },
            { name: 'select1', orgs: [], fn: () => db.org(org, (q) => q.query('SELECT 1')) },
          ]
        : [
            { name: 'admit', orgs: [org], fn: () => admit(org) },
            { name: 'spread', orgs: spread, fn: (l) => admit(spread[l] ?? org) },
          ];
    const results = new Map<string, LoopResult[]>(points.map((p) => [p.name, []]));
    for (let round = 0; round < plan.quotaRounds; round++) {
      for (let k = 0; k < points.length; k++) {
        const p = points[(round + k) % points.length];
        if (p === undefined) continue;
        if (round === 0) await closedLoop(Math.ceil(plan.quotaCalls / 5), c, p.fn);
        for (const o of p.orgs) await setUsage(db, o, 0);
        const r = await closedLoop(plan.quotaCalls, c, p.fn);
        if (r.errors.size > 0) failures.push(`quota (${tag}) ${p.name}, ${c} callers: ${describe(r.errors)}`);
        let counted = 0;
        for (const o of p.orgs) counted += await usageOf(db, o);
        if (p.orgs.length > 0 && counted !== plan.quotaCalls)
          failures.push(
            `quota (${tag}) ${p.name}, ${c} callers: ${plan.quotaCalls} admissions, counters rose by ${counted}`,
          );
        results.get(p.name)?.push(r);
      }
    }
    const get = (name: string) => pooledLoops(results.get(name) ?? []);
    const ours = get('admit');
    if (c === 1) {
      const floor = get('select1');
      figures.push({
        figure: `${tag}: admissions, 1 caller`,
        ours: cell(ours),
        peer: `\`SELECT 1\` in the same org transaction: ${cell(floor)}`,
        ratio: fmtCore.ratio(ours.throughput / floor.throughput),
        target: '–',
      });
    } else {
      const peer = get('spread');
      figures.push({
        figure: `${tag}: admissions, ${c} callers on one org's row`,
        ours: cell(ours),
        peer: `${c} callers, each on its own org's row: ${cell(peer)}`,
        ratio: fmtCore.ratio(ours.throughput / peer.throughput),
        target: '–',
      });
    }
    for (const o of [org, ...spread]) await setUsage(db, o, 0);
  }

  // Racing past the limit, at the largest concurrency: with K left and 3K callers exactly K are granted.
  const callers = Math.max(...plan.concurrencies);
  const left = 100;
  const notes: string[] = [];
  const limit = PLANS.business.monthlyMessages;
  await setUsage(db, org, limit - left);
  const race = await closedLoop(left * 3, callers, () => admit(org));
  const refused = race.errors.get('quota_exceeded') ?? 0;
  const granted = left * 3 - [...race.errors.values()].reduce((a, b) => a + b, 0);
  const final = await usageOf(db, org);
  if (granted !== left || refused !== left * 2 || final !== limit)
    failures.push(
      `quota (${tag}): with ${left} messages left and ${left * 3} racing admissions, ${granted} were granted ` +
        `(${describe(race.errors)}), counter ${final} of ${limit}`,
    );
  notes.push(
    `${tag}: with ${left} messages left in the month and ${left * 3} admissions racing at ${callers} callers, ` +
      `${granted} were granted and ${refused} refused with \`quota_exceeded\`; the counter ended at ${fmtCore.count(final)} of ${fmtCore.count(limit)}.`,
  );
  await setUsage(db, org, 0);

  const bytes = 10_000;
  const cap = PLANS.business.knowledgeBytes;
  const setKnowledge = (n: number) =>
    db.org(org, (q) => q.query('UPDATE org_billing SET knowledge_bytes = $2 WHERE org_id = $1', [org, n]));
  await setKnowledge(cap - left * bytes);
  const reserve = await closedLoop(left * 3, callers, () =>
    db.org(org, (q) => reserveKnowledge(q, org, bytes)),
  );
  const reserved = left * 3 - [...reserve.errors.values()].reduce((a, b) => a + b, 0);
  const stored = await knowledgeOf(db, org);
  if (reserved !== left || (reserve.errors.get('quota_exceeded') ?? 0) !== left * 2 || stored !== cap)
    failures.push(
      `quota (${tag}): with room for ${left} documents of ${bytes} bytes and ${left * 3} racing reservations, ` +
        `${reserved} were granted (${describe(reserve.errors)}), ${stored} of ${cap} bytes reserved`,
    );
  notes.push(
    `${tag}: with room for ${left} documents of ${fmtCore.count(bytes)} bytes and ${left * 3} \`reserveKnowledge\` calls racing at ` +
      `${callers} callers, ${reserved} were granted; ${fmtCore.count(stored)} of ${fmtCore.count(cap)} bytes reserved.`,
  );
  await setKnowledge(0);
  const contended = figures[figures.length - 1];
  const headline =
    contended && callers > 1
      ? [
          {
            ...contended,
            figure: `${tag}: quota admissions/s (atomic check), ${callers} callers on one org's row`,
          },
        ]
      : [];
  return { figures, headline, notes };
}
