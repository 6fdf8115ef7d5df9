/**
 * Incident notices (docs/OPERATIONS.md "Incident notices"): a platform operator mails every owner and admin of
 * chosen orgs, or of every org, through the mail outbox, and follows delivery. Used by `POST /api/admin/notices`
 * and `rampart admin notify`; both validate with {@link noticeInput}.
 */
import type { KeyRing } from '@rampart/core/seal';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { enqueueMail } from './outbox.js';

/** At most this many org ids in one notice (more: send it to "all"). */
export const MAX_NOTICE_ORGS = 1000;

/** A subject is one header line: control characters (CR, LF, tab...) are refused rather than flattened. */
const hasControl = (s: string): boolean =>
  [...s].some((c) => {
    const n = c.charCodeAt(0);
    return n < 0x20 || n === 0x7f;
  });

/** The request body of `POST /api/admin/notices`, also applied by `rampart admin notify`. */
export const noticeInput = z.strictObject({
  orgIds: z.union([
    z.literal('all'),
    z
      .array(z.uuid())
      .min(1)
      .max(MAX_NOTICE_ORGS)
      .transform((ids) => [...new Set(ids.map((id) => id.toLowerCase()))]),
  ]),
  subject: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .refine((s) => !hasControl(s), 'must be one line without control characters'),
  body: z.string().trim().min(1).max(20_000),
});
export type NoticeInput = z.output<typeof noticeInput>;

export interface DeliveryStatus {
  /** Waiting in the outbox or being sent now. */
  queued: number;
  sent: number;
  failed: number;
  /** Recipients whose delivery record is gone (kept RAMPART_MAIL_RETENTION_DAYS, or the org was deleted). */
  expired: number;
}

export interface NoticeSummary {
  noticeId: string;
  subject: string;
  createdAt: string;
  /** The operator's user id; null when sent with `rampart admin notify` (or the account was deleted). */
  createdBy: string | null;
  createdByEmail: string | null;
  /** Whether it was sent to every org ("all"), rather than to a list. */
  allOrgs: boolean;
  orgs: number;
  recipients: number;
  status: DeliveryStatus;
}

export interface NoticeOrg {
  orgId: string;
  name: string;
  recipients: number;
  queued: number;
  sent: number;
  failed: number;
}

export interface NoticeDetail extends NoticeSummary {
  body: string;
  /** The orgs it went to that still exist, by name. */
  perOrg: NoticeOrg[];
}

export interface SentNotice {
  noticeId: string;
  orgs: number;
  recipients: number;
}

/** Switches the tenant context inside the notice's single transaction (SET LOCAL semantics, as Database.tx). */
const useOrg = (q: Queryable, orgId: string) => q.query(`SELECT set_config('app.org_id', $1, true)`, [orgId]);

interface Recipient {
  user_id: string;
  email: string;
  role: 'owner' | 'admin';
}

/**
 * Queues the notice for every owner and admin of the chosen orgs and audits it, in ONE transaction: the notice
 * row, its per-org rows, every outbox row, one `operator.notice_sent` row on each org's chain (meta: noticeId and
 * the recipient count, never the text or an address) and one on the platform chain commit together or not at
 * all, so a crash or an error part-way leaves no half-sent notice (mail goes out only after the commit, from the
 * outbox). The orgs are locked against deletion (FOR KEY SHARE) until then.
 *
 * An address that is owner or admin of several chosen orgs gets one mail per org, each naming its org and role.
 * Each org's part runs in that org's tenant context (memberships, outbox row and audit chain under RLS).
 * @throws AppError not_found when an org id does not exist (`details.orgIds`); nothing is queued
 * @example await sendNotice(db, ring, { userId }, { orgIds: 'all', subject: 'Incident', body: '...' })
 */
export async function sendNotice(
  db: Database,
  ring: KeyRing,
  actor: AuditActor,
  input: NoticeInput,
  onProgress?: (done: number, total: number) => void,
): Promise<SentNotice> {
  const noticeId = newId();
  return db.tx({ orgId: null, platform: true }, async (q) => {
    const orgs =
      input.orgIds === 'all'
        ? await q.query<{ id: string; name: string }>(
            'SELECT id::text AS id, name FROM orgs ORDER BY id FOR KEY SHARE',
          )
        : await q.query<{ id: string; name: string }>(
            'SELECT id::text AS id, name FROM orgs WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE',
            [input.orgIds],
          );
    if (input.orgIds !== 'all') {
      const found = new Set(orgs.rows.map((o) => o.id));
      const missing = input.orgIds.filter((id) => !found.has(id));
      if (missing.length > 0)
        throw new AppError('not_found', `Org not found: ${missing.length} of the org ids do not exist`, {
          details: { orgIds: missing },
        });
    }
    // Read every org's owners and admins first: the notice row carries the totals.
    const plan: Array<{ id: string; name: string; to: Recipient[] }> = [];
    for (const o of orgs.rows) {
      await useOrg(q, o.id);
      const { rows } = await q.query<Recipient>(
        `SELECT u.id AS user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE m.org_id = $1 AND m.role IN ('owner', 'admin') ORDER BY m.role DESC, u.email`,
        [o.id],
      );
      plan.push({ ...o, to: rows });
    }
    const recipients = plan.reduce((n, p) => n + p.to.length, 0);
    await useOrg(q, '');
    await q.query(
      `INSERT INTO operator_notices (id, subject, body, created_by, all_orgs, org_count, recipient_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        noticeId,
        input.subject,
        input.body,
        actor.userId ?? null,
        input.orgIds === 'all',
        plan.length,
        recipients,
      ],
    );
    let done = 0;
    for (const p of plan) {
      await useOrg(q, p.id);
      await q.query('INSERT INTO operator_notice_orgs (org_id, notice_id, recipients) VALUES ($1, $2, $3)', [
        p.id,
        noticeId,
        p.to.length,
      ]);
      for (const r of p.to)
        await enqueueMail(q, ring, {
          to: r.email,
          userId: r.user_id,
          orgId: p.id,
          ref: { noticeId },
          template: {
            kind: 'incident_notice',
            subject: input.subject,
            body: input.body,
            orgName: p.name,
            role: r.role,
          },
        });
      onProgress?.(++done, plan.length);
    }
    // The audit rows last: each append locks its org's chain head until the commit, so the orgs' own audited
    // writes wait only for this short tail, not for every mail of a long "all".
    for (const p of plan) {
      await useOrg(q, p.id);
      await appendAudit(q, actor, {
        orgId: p.id,
        action: 'operator.notice_sent',
        target: `notice:${noticeId}`,
        meta: { noticeId, recipients: p.to.length },
      });
    }
    await useOrg(q, '');
    await appendAudit(q, actor, {
      orgId: null,
      action: 'operator.notice_sent',
      target: `notice:${noticeId}`,
      meta: { noticeId, orgs: plan.length, recipients, allOrgs: input.orgIds === 'all' },
    });
    return { noticeId, orgs: plan.length, recipients };
  });
}

interface NoticeRow {
  id: string;
  subject: string;
  body: string;
  created_at: Date;
  created_by: string | null;
  created_by_email: string | null;
  all_orgs: boolean;
  org_count: number;
  recipient_count: number;
  queued: number;
  sent: number;
  failed: number;
}

/** Counts of one notice's outbox rows (optionally of one org), `sending` counted as queued. */
const COUNTS = `count(*) FILTER (WHERE b.status IN ('queued', 'sending'))::int AS queued,
                count(*) FILTER (WHERE b.status = 'sent')::int AS sent,
                count(*) FILTER (WHERE b.status = 'failed')::int AS failed`;

const SELECT_NOTICE = `
  SELECT n.id::text AS id, n.subject, n.body, n.created_at, n.created_by::text AS created_by,
         u.email AS created_by_email, n.all_orgs, n.org_count, n.recipient_count, s.queued, s.sent, s.failed
    FROM operator_notices n
    LEFT JOIN users u ON u.id = n.created_by
    CROSS JOIN LATERAL (SELECT ${COUNTS} FROM mail_outbox b
                         WHERE b.kind = 'incident_notice' AND b.ref->>'noticeId' = n.id::text) s`;

function summary(r: NoticeRow): NoticeSummary {
  return {
    noticeId: r.id,
    subject: r.subject,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    createdByEmail: r.created_by_email,
    allOrgs: r.all_orgs,
    orgs: r.org_count,
    recipients: r.recipient_count,
    status: {
      queued: r.queued,
      sent: r.sent,
      failed: r.failed,
      expired: Math.max(0, r.recipient_count - r.queued - r.sent - r.failed),
    },
  };
}

/** Notices, newest first, with their delivery status (platform context: operators only). */
export async function listNotices(db: Database, opts: { limit?: number } = {}): Promise<NoticeSummary[]> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const { rows } = await db.platform((q) =>
    q.query<NoticeRow>(`${SELECT_NOTICE} ORDER BY n.created_at DESC, n.id DESC LIMIT $1`, [limit]),
  );
  return rows.map(summary);
}

/**
 * One notice with its text and the delivery status per org.
 * @throws AppError not_found when there is no such notice
 */
export async function getNotice(db: Database, noticeId: string): Promise<NoticeDetail> {
  return db.platform(async (q) => {
    const { rows } = await q.query<NoticeRow>(`${SELECT_NOTICE} WHERE n.id = $1`, [noticeId]);
    const r = rows[0];
    if (!r) throw new AppError('not_found', 'Notice not found');
    const per = await q.query<{
      org_id: string;
      name: string;
      recipients: number;
      queued: number;
      sent: number;
      failed: number;
    }>(
      `SELECT o.org_id::text AS org_id, g.name, o.recipients, s.queued, s.sent, s.failed
         FROM operator_notice_orgs o
         JOIN orgs g ON g.id = o.org_id
         CROSS JOIN LATERAL (SELECT ${COUNTS} FROM mail_outbox b
                              WHERE b.kind = 'incident_notice' AND b.ref->>'noticeId' = $1
                                AND b.org_id = o.org_id) s
        WHERE o.notice_id = $1::uuid
        ORDER BY g.name, o.org_id`,
      [noticeId],
    );
    return {
      ...summary(r),
      body: r.body,
      perOrg: per.rows.map((p) => ({
        orgId: p.org_id,
        name: p.name,
        recipients: p.recipients,
        queued: p.queued,
        sent: p.sent,
        failed: p.failed,
      })),
    };
  });
}
