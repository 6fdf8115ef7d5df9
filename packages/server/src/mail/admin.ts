import type { Database } from '../db/database.js';

export type MailStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** One outbox row as operators see it: the delivery record, never the sealed message or the full address. */
export interface MailRecord {
  id: string;
  kind: string;
  status: MailStatus;
  attempts: number;
  toMasked: string;
  lastError: string | null;
  createdAt: string;
  nextAttemptAt: string | null;
  sentAt: string | null;
  failedAt: string | null;
  orgId: string | null;
}

export interface MailListFilter {
  /** `queued` includes rows being sent right now. */
  status?: 'queued' | 'sent' | 'failed' | undefined;
  limit?: number | undefined;
}

export interface MailCounts {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
}

interface Row {
  id: string;
  kind: string;
  status: MailStatus;
  attempts: number;
  to_masked: string;
  last_error: string | null;
  created_at: Date;
  next_attempt_at: Date;
  sent_at: Date | null;
  failed_at: Date | null;
  org_id: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Delivery records for operators (`GET /api/admin/mail`, `rampart admin mail list`), newest first, with counts
 * per status. Platform context: the outbox is readable nowhere else.
 */
export async function listMail(
  db: Database,
  f: MailListFilter = {},
): Promise<{ mails: MailRecord[]; counts: MailCounts }> {
  const limit = Math.min(Math.max(f.limit ?? 50, 1), 500);
  const statuses = f.status === 'queued' ? ['queued', 'sending'] : f.status ? [f.status] : null;
  return db.platform(async (q) => {
    const { rows } = await q.query<Row>(
      `SELECT id, kind, status, attempts, to_masked, last_error, created_at, next_attempt_at, sent_at, failed_at,
              org_id
         FROM mail_outbox
        WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      [statuses, limit],
    );
    const c = await q.query<{ status: MailStatus; n: string }>(
      'SELECT status, count(*) AS n FROM mail_outbox GROUP BY status',
    );
    const counts: MailCounts = { queued: 0, sending: 0, sent: 0, failed: 0 };
    for (const r of c.rows) counts[r.status] = Number(r.n);
    return {
      counts,
      mails: rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        status: r.status,
        attempts: r.attempts,
        toMasked: r.to_masked,
        lastError: r.last_error,
        createdAt: r.created_at.toISOString(),
        nextAttemptAt: r.status === 'queued' ? iso(r.next_attempt_at) : null,
        sentAt: iso(r.sent_at),
        failedAt: iso(r.failed_at),
        orgId: r.org_id,
      })),
    };
  });
}
