import type { Queryable } from '../db/types.js';
import { AppError } from '../platform/errors.js';
import { type Limits, PLANS, type Plan, periodOf } from './plans.js';

export interface BillingView {
  plan: Plan;
  limits: Limits;
  usage: { widgets: number; monthlyMessages: number; knowledgeBytes: number };
  messageCredits: number;
}

/** The org's billing row (its plan in force now), created on first use (orgs that predate the widget surface have none). */
export async function billingRow(
  q: Queryable,
  orgId: string,
): Promise<{ plan: Plan; message_credits: number; knowledge_bytes: number }> {
  await q.query('INSERT INTO org_billing (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING', [orgId]);
  const { rows } = await q.query<{ plan: Plan; message_credits: number; knowledge_bytes: string }>(
    // A paid plan past its `plan_until` (grace after a failed payment, end of a cancelled period) is free.
    `SELECT CASE WHEN plan_until IS NOT NULL AND plan_until <= now() THEN 'free' ELSE plan END AS plan,
            message_credits, knowledge_bytes FROM org_billing WHERE org_id = $1`,
    [orgId],
  );
  const r = rows[0];
  if (!r) throw new AppError('not_found', 'Org not found');
  return { plan: r.plan, message_credits: r.message_credits, knowledge_bytes: Number(r.knowledge_bytes) };
}

export async function billingView(q: Queryable, orgId: string, now: Date): Promise<BillingView> {
  const b = await billingRow(q, orgId);
  const { rows } = await q.query<{ widgets: number; messages: number | null }>(
    `SELECT (SELECT count(*)::int FROM widgets WHERE org_id = $1) AS widgets,
            (SELECT messages FROM org_usage WHERE org_id = $1 AND period = $2) AS messages`,
    [orgId, periodOf(now)],
  );
  return {
    plan: b.plan,
    limits: PLANS[b.plan],
    usage: {
      widgets: rows[0]?.widgets ?? 0,
      monthlyMessages: rows[0]?.messages ?? 0,
      knowledgeBytes: b.knowledge_bytes,
    },
    messageCredits: b.message_credits,
  };
}

const exceeded = (what: string) =>
  new AppError('quota_exceeded', `The plan's ${what} limit is reached; upgrade the plan or buy credits`);

const PLAN_NAMES = Object.keys(PLANS) as Plan[];
const PLAN_MESSAGES = PLAN_NAMES.map((p) => PLANS[p].monthlyMessages);

/**
 * Admits one widget message against the month's allowance, then against purchased credits. The allowance is
 * one guarded upsert: the month's row is created or incremented only while `messages` is below the limit of
 * the org's plan in force (read in the same statement; no billing row is the free plan). Concurrent callers
 * queue on the row lock and ON CONFLICT DO UPDATE evaluates its WHERE on the newest row version, so with K left
 * exactly K are admitted. Credits are a second guarded UPDATE (`credits > 0`), tried only once the allowance is
 * spent. One round trip in the common case. Run it in a short transaction so the lock is held briefly.
 * @returns which allowance paid for the message, for {@link refundMessage}
 * @throws AppError quota_exceeded
 */
export async function admitMessage(q: Queryable, orgId: string, now: Date): Promise<'plan' | 'credit'> {
  const plan = await q.query(
    `WITH lim AS (
       SELECT coalesce((
         SELECT l.n FROM org_billing b
           JOIN unnest($3::text[], $4::int[]) AS l (plan, n)
             ON l.plan = CASE WHEN b.plan_until IS NOT NULL AND b.plan_until <= now() THEN 'free' ELSE b.plan END
          WHERE b.org_id = $1), $5::int) AS n
     )
     INSERT INTO org_usage AS u (org_id, period, messages)
     SELECT $1, $2, 1 FROM lim WHERE lim.n > 0
     ON CONFLICT (org_id, period) DO UPDATE SET messages = u.messages + 1
       WHERE u.messages < (SELECT n FROM lim)`,
    [orgId, periodOf(now), PLAN_NAMES, PLAN_MESSAGES, PLANS.free.monthlyMessages],
  );
  if (plan.rowCount === 1) return 'plan';
  const credit = await q.query(
    'UPDATE org_billing SET message_credits = message_credits - 1 WHERE org_id = $1 AND message_credits > 0',
    [orgId],
  );
  if (credit.rowCount === 1) return 'credit';
  throw exceeded('monthly messages');
}

/** Gives back an admitted message whose answer failed upstream (so a provider outage does not eat quota). */
export async function refundMessage(
  q: Queryable,
  orgId: string,
  now: Date,
  paidBy: 'plan' | 'credit',
): Promise<void> {
  if (paidBy === 'plan') {
    await q.query(
      'UPDATE org_usage SET messages = messages - 1 WHERE org_id = $1 AND period = $2 AND messages > 0',
      [orgId, periodOf(now)],
    );
  } else {
    await q.query('UPDATE org_billing SET message_credits = message_credits + 1 WHERE org_id = $1', [orgId]);
  }
}

/**
 * Reserves knowledge bytes with one guarded UPDATE, inside the caller's transaction: the document and its
 * chunks must be stored in the same transaction, so a failed upload rolls the reservation back with them.
 * @throws AppError quota_exceeded
 */
export async function reserveKnowledge(q: Queryable, orgId: string, bytes: number): Promise<void> {
  const b = await billingRow(q, orgId);
  const res = await q.query(
    'UPDATE org_billing SET knowledge_bytes = knowledge_bytes + $2 WHERE org_id = $1 AND knowledge_bytes + $2 <= $3',
    [orgId, bytes, PLANS[b.plan].knowledgeBytes],
  );
  if (res.rowCount !== 1) throw exceeded('knowledge bytes');
}

export async function releaseKnowledge(q: Queryable, orgId: string, bytes: number): Promise<void> {
  await q.query(
    'UPDATE org_billing SET knowledge_bytes = GREATEST(0, knowledge_bytes - $2) WHERE org_id = $1',
    [orgId, bytes],
  );
}
