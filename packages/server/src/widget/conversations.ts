/**
 * Visitor conversations (issue 25 §3): one per visitor session, one row per answered message holding the
 * question and the reply, each sealed to (org, table, column, message id) so an envelope opens for no other
 * org and no other row. The question is PII-redacted before it is sealed when the org redacts. Listings read
 * counters and timestamps only; a thread opens its rows' seals. Conversations are kept for the widget's
 * `conversationRetentionDays` after their last message, then swept.
 */
import { redact } from '@rampart/core/redact';
import { type KeyRing, openString, seal } from '@rampart/core/seal';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { type AuditActor, appendAudit } from '../platform/audit/append.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';

export const DEFAULT_CONVERSATION_RETENTION_DAYS = 30;
const TABLE = 'widget_conversation_messages';
const SWEEP_BATCH = 1_000;
const DAY_MS = 86_400_000;

/** Lone surrogates (valid JSON, not valid UTF-8) become U+FFFD, so a message can always be sealed. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

const ctx = (orgId: string, column: 'question_sealed' | 'reply_sealed', rowId: string) => ({
  orgId,
  table: TABLE,
  column,
  rowId,
});

export interface Exchange {
  orgId: string;
  widgetId: string;
  visitorId: string;
  ipHash: string;
  question: string;
  reply: string;
  /** Redact the question before storing it (the org's PII redaction setting). */
  redact: boolean;
  grounded: boolean;
  chunks: number;
  latencyMs: number;
}

/**
 * Records an answered message in one statement: the metadata row (widget_messages), the visitor's
 * conversation (created on its first message, counters bumped after) and the sealed exchange.
 */
export async function recordExchange(q: Queryable, ring: KeyRing, e: Exchange): Promise<void> {
  const messageId = newId();
  const question = wellFormed(e.redact ? redact(e.question) : e.question);
  await q.query(
    `WITH m AS (
       INSERT INTO widget_messages (id, org_id, widget_id, visitor_id, ip_hash, chunks, status, latency_ms, grounded)
       VALUES ($1, $2, $3, $4, $5, $6, 200, $7, $8)
     ), c AS (
       INSERT INTO widget_conversations AS c (id, org_id, widget_id, visitor_id, message_count, unanswered_count)
       VALUES ($9, $2, $3, $4, 1, CASE WHEN $8 THEN 0 ELSE 1 END)
       ON CONFLICT (widget_id, visitor_id) DO UPDATE
         SET last_message_at = now(), message_count = c.message_count + 1,
             unanswered_count = c.unanswered_count + EXCLUDED.unanswered_count
       RETURNING c.id
     )
     INSERT INTO widget_conversation_messages
       (id, org_id, widget_id, conversation_id, question_sealed, reply_sealed, redacted, grounded, chunks)
     SELECT $1, $2, $3, c.id, $10, $11, $12, $8, $6 FROM c`,
    [
      messageId,
      e.orgId,
      e.widgetId,
      e.visitorId,
      e.ipHash,
      e.chunks,
      e.latencyMs,
      e.grounded,
      newId(),
      seal(ring, question, ctx(e.orgId, 'question_sealed', messageId)),
      seal(ring, wellFormed(e.reply), ctx(e.orgId, 'reply_sealed', messageId)),
      e.redact,
    ],
  );
}

export interface ConversationSummary {
  id: string;
  visitorId: string;
  startedAt: string;
  lastMessageAt: string;
  messageCount: number;
  unansweredCount: number;
}

interface ConversationRow {
  at_us: string;
  id: string;
  visitor_id: string;
  started_at: Date;
  last_message_at: Date;
  message_count: number;
  unanswered_count: number;
}

const summary = (r: ConversationRow): ConversationSummary => ({
  id: r.id,
  visitorId: r.visitor_id,
  startedAt: r.started_at.toISOString(),
  lastMessageAt: r.last_message_at.toISOString(),
  messageCount: r.message_count,
  unansweredCount: r.unanswered_count,
});

/**
 * A keyset cursor: the last row's (timestamp, id), base64url. The timestamp travels as integer microseconds since
 * the epoch, exactly as PostgreSQL keeps it: a JavaScript Date holds milliseconds, and a row written in the same
 * millisecond as a page's last row, but before it, would be skipped.
 */
const cursorOf = (atMicros: string, id: string) => Buffer.from(`${atMicros}|${id}`).toString('base64url');
function parseCursor(cursor: string | undefined): { at: string; id: string } | null {
  if (!cursor) return null;
  const [at = '', id = ''] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!/^\d{1,17}$/.test(at) || !/^[0-9a-f-]{36}$/.test(id))
    throw new AppError('validation_failed', 'cursor: not a cursor this listing returned');
  return { at, id };
}
/** SQL: a timestamptz column as the cursor's integer microseconds, and a cursor's microseconds as a timestamptz. */
const MICROS = (col: string) => `(extract(epoch FROM ${col}) * 1000000)::bigint::text`;
const FROM_MICROS = (p: string) => `(timestamptz 'epoch' + ${p}::bigint * interval '1 microsecond')`;

/** 404 unless the widget is the org's (RLS hides other orgs' widgets; the org filter says so explicitly). */
async function requireWidget(q: Queryable, orgId: string, widgetId: string): Promise<void> {
  const { rows } = await q.query('SELECT 1 FROM widgets WHERE org_id = $1 AND id = $2', [orgId, widgetId]);
  if (!rows[0]) throw new AppError('not_found', 'Widget not found');
}

/** A widget's conversations, the most recently active first, `limit` per page. */
export async function listConversations(
  q: Queryable,
  orgId: string,
  widgetId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ conversations: ConversationSummary[]; nextCursor: string | null }> {
  await requireWidget(q, orgId, widgetId);
  const after = parseCursor(page.cursor);
  const { rows } = await q.query<ConversationRow>(
    `SELECT id, visitor_id, started_at, last_message_at, message_count, unanswered_count,
            ${MICROS('last_message_at')} AS at_us
       FROM widget_conversations
      WHERE org_id = $1 AND widget_id = $2
        AND ($3::text IS NULL OR (last_message_at, id) < (${FROM_MICROS('$3')}, $4::uuid))
      ORDER BY last_message_at DESC, id DESC LIMIT $5`,
    [orgId, widgetId, after?.at ?? null, after?.id ?? null, page.limit + 1],
  );
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    conversations: shown.map(summary),
    nextCursor: more && last ? cursorOf(last.at_us, last.id) : null,
  };
}

export interface ThreadMessage {
  id: string;
  at: string;
  question: string;
  reply: string;
  redacted: boolean;
  grounded: boolean;
}

interface MessageRow {
  id: string;
  created_at: Date;
  question_sealed: string;
  reply_sealed: string;
  redacted: boolean;
  grounded: boolean;
}

const opened = (ring: KeyRing, orgId: string, r: MessageRow): ThreadMessage => ({
  id: r.id,
  at: r.created_at.toISOString(),
  question: openString(ring, r.question_sealed, ctx(orgId, 'question_sealed', r.id)),
  reply: openString(ring, r.reply_sealed, ctx(orgId, 'reply_sealed', r.id)),
  redacted: r.redacted,
  grounded: r.grounded,
});

/** One conversation with its messages, opened, oldest first. @throws AppError not_found */
export async function getThread(
  q: Queryable,
  ring: KeyRing,
  orgId: string,
  widgetId: string,
  conversationId: string,
): Promise<ConversationSummary & { messages: ThreadMessage[] }> {
  const { rows } = await q.query<ConversationRow>(
    `SELECT id, visitor_id, started_at, last_message_at, message_count, unanswered_count
       FROM widget_conversations WHERE org_id = $1 AND widget_id = $2 AND id = $3`,
    [orgId, widgetId, conversationId],
  );
  const c = rows[0];
  if (!c) throw new AppError('not_found', 'Conversation not found');
  const messages = await q.query<MessageRow>(
    `SELECT id, created_at, question_sealed, reply_sealed, redacted, grounded
       FROM widget_conversation_messages WHERE org_id = $1 AND conversation_id = $2
      ORDER BY created_at, id`,
    [orgId, conversationId],
  );
  return { ...summary(c), messages: messages.rows.map((r) => opened(ring, orgId, r)) };
}

/** The owner deletes a conversation and its messages; audited (ids only, never text). @throws AppError not_found */
export async function deleteConversation(
  q: Queryable,
  actor: AuditActor,
  orgId: string,
  widgetId: string,
  conversationId: string,
): Promise<void> {
  const { rows } = await q.query<{ message_count: number }>(
    'DELETE FROM widget_conversations WHERE org_id = $1 AND widget_id = $2 AND id = $3 RETURNING message_count',
    [orgId, widgetId, conversationId],
  );
  if (!rows[0]) throw new AppError('not_found', 'Conversation not found');
  await appendAudit(q, actor, {
    orgId,
    action: 'widget.conversation_deleted',
    target: `widget:${widgetId}`,
    meta: { conversationId, messages: rows[0].message_count },
  });
}

/** The visitor deletes their own conversation (their token names it). @returns whether there was one */
export async function deleteVisitorConversation(
  q: Queryable,
  orgId: string,
  widgetId: string,
  visitorId: string,
): Promise<boolean> {
  const res = await q.query(
    'DELETE FROM widget_conversations WHERE org_id = $1 AND widget_id = $2 AND visitor_id = $3',
    [orgId, widgetId, visitorId],
  );
  return res.rowCount > 0;
}

/** The visitor's own conversation, opened (for the widget after a reload of its panel). */
export async function visitorThread(
  q: Queryable,
  ring: KeyRing,
  orgId: string,
  widgetId: string,
  visitorId: string,
): Promise<ThreadMessage[]> {
  const { rows } = await q.query<MessageRow>(
    `SELECT m.id, m.created_at, m.question_sealed, m.reply_sealed, m.redacted, m.grounded
       FROM widget_conversation_messages m JOIN widget_conversations c ON c.id = m.conversation_id
      WHERE c.org_id = $1 AND c.widget_id = $2 AND c.visitor_id = $3
      ORDER BY m.created_at, m.id`,
    [orgId, widgetId, visitorId],
  );
  return rows.map((r) => opened(ring, orgId, r));
}

export interface Unanswered {
  conversationId: string;
  messageId: string;
  at: string;
  question: string;
}

/** Questions whose answer was not grounded in the knowledge base, newest first, `limit` per page. */
export async function listUnanswered(
  q: Queryable,
  ring: KeyRing,
  orgId: string,
  widgetId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ questions: Unanswered[]; nextCursor: string | null }> {
  await requireWidget(q, orgId, widgetId);
  const after = parseCursor(page.cursor);
  const { rows } = await q.query<{
    id: string;
    conversation_id: string;
    created_at: Date;
    at_us: string;
    question_sealed: string;
  }>(
    `SELECT id, conversation_id, created_at, ${MICROS('created_at')} AS at_us, question_sealed
       FROM widget_conversation_messages
      WHERE org_id = $1 AND widget_id = $2 AND NOT grounded
        AND ($3::text IS NULL OR (created_at, id) < (${FROM_MICROS('$3')}, $4::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $5`,
    [orgId, widgetId, after?.at ?? null, after?.id ?? null, page.limit + 1],
  );
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    questions: shown.map((r) => ({
      conversationId: r.conversation_id,
      messageId: r.id,
      at: r.created_at.toISOString(),
      question: openString(ring, r.question_sealed, ctx(orgId, 'question_sealed', r.id)),
    })),
    nextCursor: more && last ? cursorOf(last.at_us, last.id) : null,
  };
}

export interface DayCount {
  day: string;
  answered: number;
  unanswered: number;
}

/**
 * Answered messages per UTC day over the last `days` days (today included), every day present: grounded
 * ones as answered, the rest as unanswered. Counted from the metadata rows, so deleting or sweeping
 * conversations does not change the history.
 */
export async function messagesPerDay(
  q: Queryable,
  orgId: string,
  widgetId: string,
  now: Date,
  days = 30,
): Promise<DayCount[]> {
  await requireWidget(q, orgId, widgetId);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const { rows } = await q.query<{ day: string; answered: number; unanswered: number }>(
    `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
            count(*) FILTER (WHERE coalesce(grounded, chunks > 0))::int AS answered,
            count(*) FILTER (WHERE NOT coalesce(grounded, chunks > 0))::int AS unanswered
       FROM widget_messages
      WHERE org_id = $1 AND widget_id = $2 AND status = 200 AND created_at >= $3
      GROUP BY 1`,
    [orgId, widgetId, from],
  );
  const byDay = new Map(rows.map((r) => [r.day, r]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    const r = byDay.get(day);
    return { day, answered: r?.answered ?? 0, unanswered: r?.unanswered ?? 0 };
  });
}

/**
 * Deletes conversations whose last message is older than their widget's retention, org by org (under RLS),
 * 1,000 per transaction; their messages go with them (cascade).
 * @returns conversations deleted
 */
export async function sweepConversations(db: Database, now: Date): Promise<number> {
  let deleted = 0;
  for (const orgId of await db.orgIds()) {
    for (;;) {
      const n = await db.org(orgId, async (q) => {
        const res = await q.query(
          `DELETE FROM widget_conversations WHERE id IN (
             SELECT c.id FROM widget_conversations c JOIN widgets w ON w.id = c.widget_id
              WHERE c.org_id = $1
                AND c.last_message_at < $2::timestamptz - make_interval(days => w.conversation_retention_days)
              LIMIT $3)`,
          [orgId, now, SWEEP_BATCH],
        );
        return res.rowCount;
      });
      deleted += n;
      if (n < SWEEP_BATCH) break;
    }
  }
  return deleted;
}
