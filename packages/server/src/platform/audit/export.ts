import type { Database } from '../../db/database.js';
import { AUDIT_COLUMNS, type AuditDbRow, chainedRow } from './canonical.js';

/** The public shape of one audit entry (API.md). */
export interface AuditEntry {
  id: string;
  seq: number;
  at: string;
  orgId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  action: string;
  target: string | null;
  meta: Record<string, unknown>;
  hash: string;
}

export interface AuditFilter {
  action?: string;
  since?: Date;
  until?: Date;
  /** Return entries with seq greater than this (cursor pagination). */
  afterSeq?: number;
  /** Newest first: entries with seq below `beforeSeq` (if given) in descending seq order. */
  newestFirst?: boolean;
  beforeSeq?: number;
}

const toEntry = (r: AuditDbRow): AuditEntry => {
  const c = chainedRow(r);
  return { ...c, at: c.at.toISOString(), meta: JSON.parse(c.meta) as Record<string, unknown>, hash: r.hash };
};

/** One page of an org's audit log in seq order, read under the org's tenant context. */
export async function readAuditPage(
  db: Database,
  orgId: string,
  filter: AuditFilter,
  limit: number,
): Promise<AuditEntry[]> {
  const desc = filter.newestFirst === true;
  const params: unknown[] = [
    orgId,
    desc ? (filter.beforeSeq ?? Number.MAX_SAFE_INTEGER) : (filter.afterSeq ?? 0),
  ];
  // Served by audit_log_org_seq (org_id, seq): an index range scan in seq order (backwards for newest first),
  // whatever the table's size or statistics (migration 0013 says why the chain index could not do it).
  let where = desc ? 'org_id = $1 AND seq < $2' : 'org_id = $1 AND seq > $2';
  if (filter.action) {
    params.push(filter.action);
    where += ` AND action = $${params.length}`;
  }
  if (filter.since) {
    params.push(filter.since);
    where += ` AND at >= $${params.length}`;
  }
  if (filter.until) {
    params.push(filter.until);
    where += ` AND at < $${params.length}`;
  }
  params.push(limit);
  const { rows } = await db.org(orgId, (q) =>
    q.query<AuditDbRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY audit_log.seq${desc ? ' DESC' : ''} LIMIT $${params.length}`,
      params,
    ),
  );
  return rows.map(toEntry);
}

/** Every matching entry, fetched a page at a time so memory stays constant however long the log is. */
export async function* iterateAudit(
  db: Database,
  orgId: string,
  filter: AuditFilter = {},
): AsyncGenerator<AuditEntry> {
  let cursor = filter;
  for (;;) {
    const page = await readAuditPage(db, orgId, cursor, 500);
    for (const e of page) yield e;
    const last = page.at(-1);
    if (!last || page.length < 500) return;
    cursor = filter.newestFirst ? { ...filter, beforeSeq: last.seq } : { ...filter, afterSeq: last.seq };
  }
}

export const CSV_COLUMNS = [
  'id',
  'seq',
  'at',
  'orgId',
  'userId',
  'apiKeyId',
  'ip',
  'userAgent',
  'requestId',
  'action',
  'target',
  'meta',
  'hash',
] as const;

/**
 * RFC 4180 field quoting, plus a leading apostrophe for cells a spreadsheet would run as a formula
 * (CSV injection: a user agent of `=HYPERLINK(...)` must stay text).
 */
export function csvField(v: unknown): string {
  let s = v == null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const csvHeader = (): string => `${CSV_COLUMNS.join(',')}\r\n`;
export const csvLine = (e: AuditEntry): string => `${CSV_COLUMNS.map((c) => csvField(e[c])).join(',')}\r\n`;
export const ndjsonLine = (e: AuditEntry): string => `${JSON.stringify(e)}\n`;
