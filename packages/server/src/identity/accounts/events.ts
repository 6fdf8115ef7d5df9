/**
 * The per-user account-event stream: sign-ins, failed sign-ins, second factor, CLI devices, password and
 * sign-in-provider changes. These belong to the person, not to the orgs they are in: an org that adds someone
 * must not learn when, from where or with what browser they sign in. Each event is written twice in one platform
 * transaction: a row of the user's own stream (`account_events`, readable with their session at
 * `GET /api/me/events`) and a row of the platform audit chain (operators; tamper-evident). Org audit logs get
 * none of them.
 */
import type { Database } from '../../db/database.js';
import type { Queryable } from '../../db/types.js';
import { type AuditActor, appendPrepared, prepareAudit } from '../../platform/audit/append.js';
import type { IdentityServices } from '../services.js';

/** Days an account event is kept (RAMPART_ACCOUNT_EVENT_RETENTION_DAYS); the platform chain is not swept. */
export const DEFAULT_ACCOUNT_EVENT_RETENTION_DAYS = 365;
const SWEEP_BATCH = 1_000;
const DAY_MS = 86_400_000;

export interface AccountEvent {
  seq: number;
  at: string;
  action: string;
  target: string | null;
  ip: string | null;
  userAgent: string | null;
  meta: Record<string, unknown>;
}

/**
 * Writes one account event in the caller's platform-context transaction: the platform-chain audit row always,
 * and the user's stream row when the user is known (a failed sign-in for an unknown address has no user).
 * @throws TypeError when meta carries secret-like keys (the audit rule applies to both copies)
 */
export async function writeAccountEvent(
  q: Queryable,
  userId: string | null,
  actor: AuditActor,
  action: string,
  target: string | null,
  meta: Record<string, unknown> = {},
): Promise<void> {
  const prepared = prepareAudit(actor, { orgId: null, action, target, meta });
  await appendPrepared(q, [prepared]);
  if (!userId) return;
  await q.query(
    `INSERT INTO account_events (user_id, at, action, target, ip, user_agent, meta)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
    [userId, prepared.at, action, prepared.target, prepared.ip, prepared.userAgent, prepared.meta],
  );
}

/** {@link writeAccountEvent} in a transaction of its own. */
export function recordAccountEvent(
  db: Database,
  userId: string | null,
  actor: AuditActor,
  action: string,
  target: string | null,
  meta: Record<string, unknown> = {},
): Promise<void> {
  return db.platform((q) => writeAccountEvent(q, userId, actor, action, target, meta));
}

/**
 * One page of the user's own events, newest first, read in the user's context (RLS: only their rows).
 * `before` is the `seq` of the last event of the previous page.
 */
export async function listAccountEvents(
  db: Database,
  userId: string,
  page: { before?: number | undefined; limit: number },
): Promise<{ events: AccountEvent[]; nextCursor: string | null }> {
  const { rows } = await db.tx({ orgId: null, userId }, (q) =>
    q.query<{
      seq: string;
      at: Date;
      action: string;
      target: string | null;
      ip: string | null;
      user_agent: string | null;
      meta: Record<string, unknown>;
    }>(
      `SELECT seq::text AS seq, at, action, target, ip, user_agent, meta FROM account_events
        WHERE user_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
        ORDER BY seq DESC LIMIT $3`,
      [userId, page.before ?? null, page.limit],
    ),
  );
  const events = rows.map((r) => ({
    seq: Number(r.seq),
    at: r.at.toISOString(),
    action: r.action,
    target: r.target,
    ip: r.ip,
    userAgent: r.user_agent,
    meta: r.meta,
  }));
  const last = events.at(-1);
  return { events, nextCursor: events.length === page.limit && last ? String(last.seq) : null };
}

/**
 * Deletes account events older than `days`, 1,000 rows per transaction.
 * @returns rows deleted
 */
export async function sweepAccountEvents(db: Database, days: number, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  let deleted = 0;
  for (;;) {
    const n = await db.platform(
      async (q) =>
        (
          await q.query(
            `DELETE FROM account_events WHERE seq IN (
               SELECT seq FROM account_events WHERE at < $1 ORDER BY at LIMIT $2)`,
            [cutoff, SWEEP_BATCH],
          )
        ).rowCount,
    );
    deleted += n;
    if (n < SWEEP_BATCH) return deleted;
  }
}

/**
 * Records an account event in the user's own stream and the platform chain (see above). Never in
 * an org's audit log: the orgs a person belongs to do not see their sign-ins.
 */
export async function auditAccountEvent(
  s: IdentityServices,
  userId: string | null,
  actor: AuditActor,
  action: string,
  meta: Record<string, unknown> = {},
): Promise<void> {
  await recordAccountEvent(s.db, userId, actor, action, userId ? `user:${userId}` : null, meta);
}
