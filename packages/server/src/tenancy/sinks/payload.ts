import { hostname } from 'node:os';
import type { Queryable } from '../../db/types.js';
import { AUDIT_COLUMNS, type AuditDbRow, chainedRow } from '../../platform/audit/canonical.js';
import type { AuditEntry } from '../../platform/audit/export.js';

/**
 * What a sink receives (docs/SECURITY-CONTROLS.md "Audit sinks"). A batch is a run of consecutive rows of one
 * org's chain: `firstSeq`..`lastSeq` with no gap, `prevHash` the hash before the first row (the previous batch's
 * `chainHash`, or the genesis hash), `chainHash` the last row's hash. Its id is fixed by the sink and the range,
 * so a batch re-sent after a crash carries the same id.
 */
export interface SinkBatch {
  type: 'rampart.audit.batch';
  version: 1;
  batchId: string;
  orgId: string;
  sinkId: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  prevHash: string;
  chainHash: string;
}

export type SinkEntry = AuditEntry & { type: 'rampart.audit.entry'; prevHash: string };

/** The external anchor: the platform chain's head (and the org's own head) at `at`. */
export interface SinkAnchor {
  type: 'rampart.audit.anchor';
  version: 1;
  anchorId: string;
  at: string;
  orgId: string;
  platformSeq: number;
  platformHead: string;
  orgSeq: number;
  orgHead: string;
}

const GENESIS = '0'.repeat(64);

export const batchId = (sinkId: string, first: number, last: number): string =>
  `rsb_${sinkId.replaceAll('-', '')}_${first}_${last}`;

/** Rows `after < seq <= upTo` of the org's chain in seq order (in the org's context), at most `limit`. */
export async function readRows(
  q: Queryable,
  orgId: string,
  after: number,
  upTo: number,
  limit: number,
): Promise<SinkEntry[]> {
  // audit_log.seq, not the select list's `seq` (text, for the engines' bigint handling), which sorts 10 before 9.
  const { rows } = await q.query<AuditDbRow>(
    `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE org_id = $1 AND seq > $2 AND seq <= $3
      ORDER BY audit_log.seq LIMIT $4`,
    [orgId, after, upTo, limit],
  );
  return rows.map((r) => {
    const c = chainedRow(r);
    return {
      type: 'rampart.audit.entry',
      ...c,
      at: c.at.toISOString(),
      meta: JSON.parse(c.meta) as Record<string, unknown>,
      prevHash: r.prev_hash,
      hash: r.hash,
    };
  });
}

export function makeBatch(sinkId: string, orgId: string, entries: SinkEntry[]): SinkBatch {
  const first = entries[0];
  const last = entries.at(-1);
  if (!first || !last) throw new TypeError('empty batch');
  for (let i = 1; i < entries.length; i++)
    if ((entries[i] as SinkEntry).seq !== (entries[i - 1] as SinkEntry).seq + 1)
      throw new Error(`audit rows are not consecutive at seq ${(entries[i] as SinkEntry).seq}`);
  return {
    type: 'rampart.audit.batch',
    version: 1,
    batchId: batchId(sinkId, first.seq, last.seq),
    orgId,
    sinkId,
    firstSeq: first.seq,
    lastSeq: last.seq,
    count: entries.length,
    prevHash: first.prevHash || GENESIS,
    chainHash: last.hash,
  };
}

/** The HTTPS body: the batch header line, then one line per row. */
export function ndjsonBody(batch: SinkBatch, entries: SinkEntry[]): string {
  return [batch, ...entries].map((l) => `${JSON.stringify(l)}\n`).join('');
}

// RFC 5424 -----------------------------------------------------------------------------------------------

/** facility local0 (16), severity informational (6). */
const PRI = 16 * 8 + 6;
/**
 * SD-ID `rampart@32473`: 32473 is the private enterprise number RFC 5612 reserves for documentation and
 * examples; Rampart has no registered number of its own (docs/SECURITY-CONTROLS.md says so).
 */
export const SD_ID = 'rampart@32473';
const HOST = (hostname()
  .replace(/[^\x21-\x7e]/g, '')
  .slice(0, 255) || '-') as string;

const sdValue = (v: string | number): string => String(v).replace(/["\\\]]/g, (c) => `\\${c}`);
const sd = (params: Record<string, string | number>): string =>
  `[${SD_ID}${Object.entries(params)
    .map(([k, v]) => ` ${k}="${sdValue(v)}"`)
    .join('')}]`;

/** One RFC 5424 message: `<134>1 TIMESTAMP HOST rampart - MSGID [SD] BOM JSON`. */
function message(at: string, msgId: string, params: Record<string, string | number>, json: unknown): string {
  return `<${PRI}>1 ${at} ${HOST} rampart - ${msgId} ${sd(params)} \uFEFF${JSON.stringify(json)}`;
}

/** RFC 5425 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export const frame = (msg: string): Buffer => {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
};

/** One syslog message per audit row; the SD element names the batch so a receiver can check continuity. */
export function syslogBatch(batch: SinkBatch, entries: SinkEntry[]): Buffer[] {
  return entries.map((e) =>
    frame(
      message(
        e.at,
        'audit',
        {
          org: batch.orgId,
          seq: e.seq,
          hash: e.hash,
          prev: e.prevHash,
          batch: batch.batchId,
          first: batch.firstSeq,
          last: batch.lastSeq,
          chain: batch.chainHash,
        },
        e,
      ),
    ),
  );
}

export function syslogAnchor(a: SinkAnchor): Buffer {
  return frame(
    message(
      a.at,
      'anchor',
      { org: a.orgId, anchor: a.anchorId, platformSeq: a.platformSeq, platformHead: a.platformHead },
      a,
    ),
  );
}
