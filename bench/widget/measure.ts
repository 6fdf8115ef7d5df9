// The measured parts of the widget bench: the same closed-loop load straight to the model stub, through the
// gateway and through the widget, interleaved in rounds and checked; and quota admission under contention
// against its peers, called in-process.

import type { Queryable } from '../../packages/server/src/db/types.js';
import { AppError } from '../../packages/server/src/platform/errors.js';
import { RETRIEVED_CHUNKS } from '../../packages/server/src/widget/chat.js';
import { PLANS, periodOf } from '../../packages/server/src/widget/plans.js';
import { admitMessage, billingRow } from '../../packages/server/src/widget/quota.js';
import { type CheckedLoader, pooled, postTarget, type Target } from '../lib/checked-load.js';
import { closedLoop as runLoop } from '../lib/closed-loop.js';
import type { LoadResult } from '../lib/http-load.js';
import type { LatencySummary } from '../lib/latency.js';
import type { ProfileResult } from '../lib/rampart-profile.js';
import type { Pieces } from './profile.js';
import {
  CLIENT_IPS,
  CONCURRENCIES,
  CONTENDED,
  type Instance,
  KNOWLEDGE_BASE,
  type Plan,
  REPLY,
  SHOP,
  STUB_PATH,
  SYSTEM_PROMPT,
  UPSTREAM_KEY,
  VISITOR_MESSAGE,
} from './setup.js';

export interface Triple {
  readonly concurrency: number;
  readonly direct: LatencySummary;
  readonly gateway: LatencySummary;
  readonly widget: LatencySummary;
}

export interface Admission {
  readonly concurrency: number;
  readonly select1: LatencySummary;
  readonly admit: LatencySummary;
  /** admitMessage with each loop on its own org's row (no shared row); measured at concurrency > 1 only. */
  readonly admitSpread: LatencySummary | undefined;
  readonly lock: LatencySummary;
  /** The admission as one guarded INSERT … ON CONFLICT DO UPDATE … WHERE statement. */
  readonly oneStatement: LatencySummary;
}

export interface EngineResult {
  readonly label: string;
  /** Requests sent through the worker for this engine (all targets, warm-up included), and the failed ones. */
  readonly requests: { readonly sent: number; readonly failed: number };
  readonly profile: ProfileResult;
  readonly pieces: Pieces;
  readonly http: readonly Triple[];
  readonly admission: readonly Admission[];
  /** Retrieved chunks and the size of the body the widget sent to the model. */
  readonly modelCall: { readonly chunks: number; readonly bytes: number };
  /** With K messages left and 3K callers at the contended concurrency: admitted, refused, final counter. */
  readonly exactness: { readonly left: number; readonly admitted: number; readonly refused: number };
}

/** The month's message counter of one org, and a reset to 0 (outside the measured time). */
async function usage(inst: Instance, orgId: string): Promise<number> {
  const { rows } = await inst.rampart.services.db.org(orgId, (q) =>
    q.query<{ messages: number }>('SELECT messages FROM org_usage WHERE org_id = $1 AND period = $2', [
      orgId,
      periodOf(new Date()),
    ]),
  );
  return rows[0]?.messages ?? 0;
}

async function setUsage(inst: Instance, orgId: string, messages: number): Promise<void> {
  await inst.rampart.services.db.org(orgId, (q) =>
    q.query(
      `INSERT INTO org_usage (org_id, period, messages) VALUES ($1, $2, $3)
       ON CONFLICT (org_id, period) DO UPDATE SET messages = $3`,
      [orgId, periodOf(new Date()), messages],
    ),
  );
}

async function count(inst: Instance, sql: string): Promise<number> {
  const { rows } = await inst.rampart.services.db.org(inst.orgId, (q) =>
    q.query<{ n: number }>(sql, [inst.orgId]),
  );
  return rows[0]?.n ?? 0;
}

/** The full widget path, the gateway and the stub itself, under the same closed-loop load. */
export async function measureHttp(
  loader: CheckedLoader,
  inst: Instance,
  stubOrigin: string,
  plan: Plan,
  failures: string[],
): Promise<{
  http: Triple[];
  modelCall: EngineResult['modelCall'];
  widget: Target;
  /** The body the widget sent to the model. */
  modelBody: string;
  /** Checks a widget load of `n` messages (counted once, recorded once) and starts a fresh month. */
  settleWidget: (n: number) => Promise<void>;
}> {
  const tag = inst.engine;
  const widget: Target = (c, warm, n) => ({
    ...postTarget(
      inst.origin,
      `/widget/${inst.widgetId}/messages`,
      { authorization: `Bearer ${inst.visitorToken}`, origin: SHOP },
      JSON.stringify({ message: VISITOR_MESSAGE }),
    )(c, warm, n),
    cycleHeader: { name: 'x-forwarded-for', values: CLIENT_IPS },
  });

  // One message from the main thread: the reply must be the model's, and the model must have been sent the
  // system prompt, retrieved chunks and the visitor's message. Its body is then the load for the peers.
  const res = await fetch(`${inst.origin}/widget/${inst.widgetId}/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${inst.visitorToken}`,
      origin: SHOP,
      'x-forwarded-for': '198.51.100.8',
    },
    body: JSON.stringify({ message: VISITOR_MESSAGE }),
  });
  const answer = (await res.json()) as { reply?: string };
  loader.sentOutside(1);
  if (res.status !== 200 || answer.reply !== REPLY)
    failures.push(
      `${tag}: the widget answered ${res.status} ${JSON.stringify(answer)}, not the model's reply`,
    );
  const modelBody = await loader.lastBody();
  const sent = JSON.parse(modelBody) as { messages?: Array<{ role: string; content: string }> };
  const [system, user] = sent.messages ?? [];
  const chunks = await count(
    inst,
    'SELECT chunks AS n FROM widget_messages WHERE org_id = $1 ORDER BY created_at DESC LIMIT 1',
  );
  const context = system?.content.split('\n\nContext:\n')[1] ?? '';
  const quoted = context.split(/\n\n(?=\[\d+\] )/).map((c) => c.replace(/^\[\d+\] /, ''));
  if (
    !system?.content.startsWith(SYSTEM_PROMPT) ||
    chunks !== RETRIEVED_CHUNKS ||
    quoted.length !== chunks ||
    !quoted.every((c) => KNOWLEDGE_BASE.includes(c)) ||
    user?.content !== VISITOR_MESSAGE
  )
    failures.push(
      `${tag}: the model was not sent the system prompt, ${RETRIEVED_CHUNKS} chunks of the help centre and the message`,
    );

  const direct = postTarget(stubOrigin, STUB_PATH, { authorization: `Bearer ${UPSTREAM_KEY}` }, modelBody);
  const gateway = postTarget(inst.origin, STUB_PATH, { authorization: `Bearer ${inst.apiKey}` }, modelBody);

  // Gateway rounds leave usage audit rows to be written after the answers; wait for them so they do not
  // slow the next round. Widget rounds: every message admitted once and recorded once; then a fresh month.
  let gatewaySent = 0;
  let widgetSent = 1;
  const settleGateway = async () => {
    const started = performance.now();
    const sql = "SELECT count(*)::int AS n FROM audit_log WHERE org_id = $1 AND action = 'llm.completion'";
    while ((await count(inst, sql)) < gatewaySent) {
      if (performance.now() - started > 60_000) {
        failures.push(`${tag}: gateway usage audit rows still missing 60 s after the load stopped`);
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await setUsage(inst, inst.orgId, 0);
  const settleWidget = async (n: number) => {
    widgetSent += n;
    const admitted = await usage(inst, inst.orgId);
    if (admitted !== n)
      failures.push(`${tag}: ${n} widget messages answered, but the month's counter rose by ${admitted}`);
    const recorded = await count(
      inst,
      'SELECT count(*)::int AS n FROM widget_messages WHERE org_id = $1 AND status = 200',
    );
    if (recorded !== widgetSent)
      failures.push(`${tag}: ${widgetSent} widget messages answered, ${recorded} recorded`);
    await setUsage(inst, inst.orgId, 0);
  };

  const http: Triple[] = [];
  const perRound = Math.ceil(plan.requests / plan.rounds);
  for (const c of CONCURRENCIES) {
    const d: LoadResult[] = [];
    const g: LoadResult[] = [];
    const w: LoadResult[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      const warm = round === 0 ? plan.warmup : 0;
      const steps = [
        async () => d.push(await loader.run(`${tag} direct c=${c}`, direct(c, warm, perRound))),
        async () => {
          g.push(await loader.run(`${tag} gateway c=${c}`, gateway(c, warm, perRound)));
          gatewaySent += warm + perRound;
          await settleGateway();
        },
        async () => {
          w.push(await loader.run(`${tag} widget c=${c}`, widget(c, warm, perRound)));
          await settleWidget(warm + perRound);
        },
      ];
      // Rotate which goes first, so drift on the shared machine falls on all three alike.
      for (let k = 0; k < steps.length; k++) await steps[(round + k) % steps.length]?.();
    }
    http.push({ concurrency: c, direct: pooled(d), gateway: pooled(g), widget: pooled(w) });
  }
  return {
    http,
    modelCall: { chunks, bytes: Buffer.byteLength(modelBody) },
    widget,
    modelBody,
    settleWidget,
  };
}

/** The shared closed loop (lib/closed-loop.ts), shaped as this bench's LoadResult plus the errors by code. */
async function closedLoop(
  calls: number,
  concurrency: number,
  fn: (loop: number) => Promise<unknown>,
): Promise<{ result: LoadResult; errors: ReadonlyMap<string, number> }> {
  const r = await runLoop(calls, concurrency, fn);
  return { result: { latencies: r.latencies, wallMs: r.wallMs, failures: {} }, errors: r.errors };
}

/**
 * The cost of admission under contention: `admitMessage` in its own org transaction, as the message route
 * runs it, at concurrency 1 and 32 on one org's row; against a transaction that only runs `SELECT 1`, the
 * same admission with every loop on its own org's row, and a lock-then-check design (advisory lock, read the
 * counter, update).
 */
export async function measureAdmission(
  inst: Instance,
  plan: Plan,
  failures: string[],
): Promise<{ admission: Admission[]; exactness: EngineResult['exactness'] }> {
  const { db } = inst.rampart.services;
  const tag = inst.engine;
  const org = inst.orgId;
  const admit = (orgId: string) => db.org(orgId, (q) => admitMessage(q, orgId, new Date()));
  const lockThenCheck = (orgId: string) =>
    db.org(orgId, async (q: Queryable) => {
      const period = periodOf(new Date());
      await q.query(`SELECT pg_advisory_xact_lock(hashtextextended('bench.quota.' || $1::text, 0))`, [orgId]);
      const b = await billingRow(q, orgId);
      await q.query('INSERT INTO org_usage (org_id, period) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        orgId,
        period,
      ]);
      const { rows } = await q.query<{ messages: number }>(
        'SELECT messages FROM org_usage WHERE org_id = $1 AND period = $2',
        [orgId, period],
      );
      if ((rows[0]?.messages ?? 0) >= PLANS[b.plan].monthlyMessages)
        throw new AppError('quota_exceeded', 'limit reached');
      await q.query('UPDATE org_usage SET messages = messages + 1 WHERE org_id = $1 AND period = $2', [
        orgId,
        period,
      ]);
    });
  const select1 = () => db.org(org, (q) => q.query('SELECT 1'));
  // The whole admission as one guarded statement: the usage row created or incremented below the plan's limit
  // (read from org_billing in the same statement), so one round trip instead of four.
  const limits = Object.entries(PLANS)
    .map(([plan, l]) => `('${plan}', ${l.monthlyMessages})`)
    .join(', ');
  const oneStatement = (orgId: string) =>
    db.org(orgId, async (q) => {
      const res = await q.query(
        `INSERT INTO org_usage AS u (org_id, period, messages) VALUES ($1, $2, 1)
         ON CONFLICT (org_id, period) DO UPDATE SET messages = u.messages + 1
         WHERE u.messages < (SELECT l.n FROM org_billing b JOIN (VALUES ${limits}) AS l (plan, n)
                              ON l.plan = b.plan WHERE b.org_id = $1)`,
        [orgId, periodOf(new Date())],
      );
      if (res.rowCount !== 1) throw new AppError('quota_exceeded', 'limit reached');
    });

  const approaches = {
    select1: { fn: () => select1(), orgs: [] as string[] },
    admit: { fn: () => admit(org), orgs: [org] },
    admitSpread: { fn: (l: number) => admit(inst.spreadOrgIds[l] ?? org), orgs: inst.spreadOrgIds },
    lock: { fn: () => lockThenCheck(org), orgs: [org] },
    oneStatement: { fn: () => oneStatement(org), orgs: [org] },
  } as const;
  type Name = keyof typeof approaches;
  const names = Object.keys(approaches) as Name[];

  const admission: Admission[] = [];
  const perRound = Math.ceil(plan.admissions / plan.rounds);
  for (const c of CONCURRENCIES) {
    const results = new Map<Name, LoadResult[]>(names.map((n) => [n, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length] as Name;
        // At concurrency 1 every approach is uncontended: one row per caller is the same as one row.
        if (name === 'admitSpread' && c === 1) continue;
        const { fn, orgs } = approaches[name];
        for (const o of orgs) await setUsage(inst, o, 0);
        if (round === 0) await closedLoop(Math.ceil(perRound / 5), c, fn);
        for (const o of orgs) await setUsage(inst, o, 0);
        const { result, errors } = await closedLoop(perRound, c, fn);
        if (errors.size > 0)
          failures.push(
            `${tag} admission ${name} c=${c}: ${[...errors].map(([e, n]) => `${e} × ${n}`).join(', ')}`,
          );
        // Every call counted exactly once.
        let counted = 0;
        for (const o of orgs) counted += await usage(inst, o);
        if (orgs.length > 0 && counted !== perRound)
          failures.push(
            `${tag} admission ${name} c=${c}: ${perRound} calls, the counters rose by ${counted}`,
          );
        results.get(name)?.push(result);
      }
    }
    const get = (n: Name) => {
      const rs = results.get(n) ?? [];
      return rs.length > 0 ? pooled(rs) : undefined;
    };
    const [a, s1, l, one] = [get('admit'), get('select1'), get('lock'), get('oneStatement')];
    if (!a || !s1 || !l || !one) throw new Error('admission: a point was not measured');
    admission.push({
      concurrency: c,
      select1: s1,
      admit: a,
      admitSpread: get('admitSpread'),
      lock: l,
      oneStatement: one,
    });
  }

  // With K messages left, 3K concurrent callers: exactly K admitted, the rest refused, the counter at the limit.
  const limit = PLANS.business.monthlyMessages;
  const left = 100;
  await setUsage(inst, org, limit - left);
  const { errors } = await closedLoop(left * 3, CONTENDED, () => admit(org));
  const refused = errors.get('quota_exceeded') ?? 0;
  const final = await usage(inst, org);
  const admitted = left * 3 - [...errors.values()].reduce((a, b) => a + b, 0);
  if (admitted !== left || refused !== left * 2 || final !== limit)
    failures.push(
      `${tag}: with ${left} messages left and ${left * 3} callers, ${admitted} were admitted, ${refused} refused ` +
        `(${[...errors.keys()].join(', ')}), counter ${final} of ${limit}`,
    );
  await setUsage(inst, org, 0);
  return { admission, exactness: { left, admitted, refused } };
}
