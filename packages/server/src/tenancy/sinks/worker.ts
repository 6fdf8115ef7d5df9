import { randomUUID } from 'node:crypto';
import type { KeyRing } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { makeBatch, ndjsonBody, readRows, type SinkAnchor, syslogAnchor, syslogBatch } from './payload.js';
import { openSinkSecret, orgHeadSeq, SINK_COLUMNS, type SinkRow } from './store.js';
import { postSigned, type SinkTransportOptions, writeSyslog } from './transport.js';

export interface AuditSinkWorkerOptions {
  db: Database;
  ring: KeyRing;
  logger: Logger;
  transport: SinkTransportOptions;
  pollMs: number;
  /** Rows per batch. */
  batch: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Interval of the platform chain anchor; 0 = never. */
  anchorMs: number;
  /** How long a claim holds before another node may take the sink over; must exceed one delivery's timeout. */
  leaseMs?: number;
  /** Batches delivered per claim before the sink goes back to the queue (other sinks get their turn). */
  batchesPerClaim?: number;
}

/** Back-off before attempt `attempts + 1`: base × 2^(attempts − 1), ±20 % jitter, capped. */
export function sinkBackoffMs(
  attempts: number,
  baseMs: number,
  maxMs: number,
  random = Math.random(),
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.max(1, Math.min(maxMs, Math.round(exp * (0.8 + random * 0.4))));
}

/** One line for the sink's status and the log: error code and message, links and long tokens cut, ≤ 500 chars. */
export function describeSinkError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const parts: string[] = [];
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  if (/^[A-Z_]{2,40}$/.test(code)) parts.push(code);
  let msg = typeof e?.message === 'string' ? e.message : String(err);
  if (msg === 'fetch failed' && typeof e?.cause?.message === 'string') msg = `${msg}: ${e.cause.message}`;
  parts.push(
    msg
      .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<link>')
      .replace(/whsec_\S+/g, '***')
      .replace(/[A-Za-z0-9_+/=-]{32,}/g, '***')
      .replace(/\s+/g, ' ')
      .trim(),
  );
  const line = parts.join(': ');
  return line.length > 500 ? `${line.slice(0, 499)}…` : line;
}

type Outcome = 'idle' | 'more' | 'failed' | 'lost';

/**
 * Streams every org's audit log to its sinks. Each round claims due sinks one at a time with FOR UPDATE SKIP
 * LOCKED and a lease (so any number of nodes share the work and one sink is delivered by one node at a time, in
 * order), then per claimed sink:
 * 1. fixes the next batch (cursor + 1 .. last row, at most `batch` rows) in the row before sending, unless a
 *    batch is already in flight from an attempt that failed or a node that died: then that one is re-sent whole,
 *    with the same id;
 * 2. sends it; on success, advances the cursor in one transaction fenced by the lease and the old cursor;
 * 3. when the anchor interval has passed, sends the platform chain's head and logs it.
 * A failure records the error and backs off exponentially; nothing here ever holds a lock audit writers need.
 */
export class AuditSinkWorker {
  readonly #o: Required<AuditSinkWorkerOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** stop() was called: finish the delivery in hand, claim nothing more. */
  #closing = false;

  constructor(o: AuditSinkWorkerOptions) {
    this.#o = { leaseMs: Math.max(120_000, o.transport.timeoutMs * 3), batchesPerClaim: 20, ...o };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#closing = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .then(() => undefined)
        .catch((err) => this.#o.logger.error({ err }, 'audit sink round failed'))
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#schedule(this.#o.pollMs);
        });
    }, ms);
    this.#timer.unref();
  }

  /** One round: every due sink once. Exposed for tests. @returns sinks handled */
  async tick(): Promise<number> {
    let n = 0;
    while (!this.#closing) {
      const claimed = await this.#claim();
      if (!claimed) break;
      n++;
      await this.#work(claimed.row, claimed.lease);
    }
    return n;
  }

  async #claim(): Promise<{ row: SinkRow; lease: string } | undefined> {
    const lease = randomUUID();
    const { rows } = await this.#o.db.platform((q) =>
      q.query<SinkRow>(
        `UPDATE audit_sinks SET lease_id = $1,
                locked_until = now() + make_interval(secs => $2::double precision / 1000)
          WHERE id = (SELECT id FROM audit_sinks
                       WHERE next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
                       ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING ${SINK_COLUMNS}`,
        [lease, this.#o.leaseMs],
      ),
    );
    const row = rows[0];
    return row ? { row, lease } : undefined;
  }

  async #work(sink: SinkRow, lease: string): Promise<void> {
    const o = this.#o;
    let outcome: Outcome = 'idle';
    let cursor = Number(sink.cursor_seq);
    let pending = sink.batch_last_seq === null ? null : Number(sink.batch_last_seq);
    try {
      for (let i = 0; i < o.batchesPerClaim && !this.#closing; i++) {
        const r = await this.#deliverBatch(sink, lease, cursor, pending);
        if (r === 'idle' || r === 'lost') {
          outcome = r;
          break;
        }
        cursor = r;
        pending = null;
        outcome = 'more';
      }
      if (outcome === 'lost') return;
      if (o.anchorMs > 0 && (!sink.anchored_at || Date.now() - sink.anchored_at.getTime() >= o.anchorMs)) {
        if (!(await this.#anchor(sink, lease))) return;
      }
    } catch (err) {
      await this.#fail(sink, lease, err);
      return;
    }
    // More rows may be waiting (the claim's batch budget ran out): due again at once; otherwise at the next poll.
    await o.db.platform((q) =>
      q.query(
        `UPDATE audit_sinks SET locked_until = NULL, lease_id = NULL,
                next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
          WHERE id = $1 AND lease_id = $2`,
        [sink.id, lease, outcome === 'more' ? 0 : Math.max(0, o.pollMs - 5)],
      ),
    );
  }

  /** @returns the new cursor, 'idle' when nothing is left, 'lost' when another node holds the sink now */
  async #deliverBatch(
    sink: SinkRow,
    lease: string,
    cursor: number,
    pending: number | null,
  ): Promise<number | 'idle' | 'lost'> {
    const o = this.#o;
    const orgId = sink.org_id;
    const entries = await o.db.org(orgId, (q) =>
      readRows(q, orgId, cursor, pending ?? Number.MAX_SAFE_INTEGER, pending === null ? o.batch : 1_000_000),
    );
    if (entries.length === 0) return 'idle';
    const batch = makeBatch(sink.id, orgId, entries);
    if (pending === null) {
      // Fix the batch before the first byte leaves, so any retry (here or on another node) re-sends it whole.
      const fixed = await o.db.platform((q) =>
        q.query(
          `UPDATE audit_sinks SET batch_last_seq = $3
            WHERE id = $1 AND lease_id = $2 AND cursor_seq = $4 AND batch_last_seq IS NULL`,
          [sink.id, lease, batch.lastSeq, cursor],
        ),
      );
      if (fixed.rowCount !== 1) return 'lost';
    } else if (batch.lastSeq !== pending) {
      throw new Error(`audit rows ${cursor + 1}..${pending} are not all readable`);
    }
    if (sink.kind === 'https') {
      const secret = openSinkSecret(o.ring, sink);
      await postSigned(
        o.transport,
        String(sink.config.url),
        secret,
        batch.batchId,
        ndjsonBody(batch, entries),
      );
    } else {
      await writeSyslog(
        o.transport,
        String(sink.config.host),
        Number(sink.config.port),
        syslogBatch(batch, entries),
        this.#client(sink),
      );
    }
    const done = await o.db.tx({ orgId, platform: true }, (q) =>
      q.query(
        `UPDATE audit_sinks SET cursor_seq = $3, batch_last_seq = NULL, attempts = 0, last_success_at = now(),
                locked_until = now() + make_interval(secs => $5::double precision / 1000), updated_at = now()
          WHERE id = $1 AND lease_id = $2 AND cursor_seq = $4`,
        [sink.id, lease, batch.lastSeq, cursor, o.leaseMs],
      ),
    );
    if (done.rowCount !== 1) return 'lost';
    return batch.lastSeq;
  }

  /** A syslog sink's TLS client certificate and opened key, if it has them. */
  #client(sink: SinkRow): { cert: string; key: string } | undefined {
    if (!sink.secret_sealed || typeof sink.config.clientCert !== 'string') return undefined;
    return { cert: sink.config.clientCert, key: openSinkSecret(this.#o.ring, sink) };
  }

  /** Sends the platform chain's head (and the org's) and logs it. @returns false when the lease was lost */
  async #anchor(sink: SinkRow, lease: string): Promise<boolean> {
    const o = this.#o;
    const platform = await o.db.platform((q) =>
      q.query<{ seq: string; head: string }>(
        "SELECT seq::text AS seq, head FROM audit_heads WHERE chain = 'platform'",
      ),
    );
    const org = await o.db.org(sink.org_id, async (q) => {
      const { rows } = await q.query<{ head: string }>('SELECT head FROM audit_heads WHERE chain = $1', [
        sink.org_id,
      ]);
      return { seq: await orgHeadSeq(q, sink.org_id), head: rows[0]?.head ?? '0'.repeat(64) };
    });
    const at = new Date();
    const anchor: SinkAnchor = {
      type: 'rampart.audit.anchor',
      version: 1,
      anchorId: `rsa_${sink.id.replaceAll('-', '')}_${at.getTime()}`,
      at: at.toISOString(),
      orgId: sink.org_id,
      platformSeq: Number(platform.rows[0]?.seq ?? 0),
      platformHead: platform.rows[0]?.head ?? '0'.repeat(64),
      orgSeq: org.seq,
      orgHead: org.head,
    };
    if (sink.kind === 'https') {
      const secret = openSinkSecret(o.ring, sink);
      await postSigned(
        o.transport,
        String(sink.config.url),
        secret,
        anchor.anchorId,
        `${JSON.stringify(anchor)}\n`,
      );
    } else {
      await writeSyslog(
        o.transport,
        String(sink.config.host),
        Number(sink.config.port),
        [syslogAnchor(anchor)],
        this.#client(sink),
      );
    }
    const { rowCount } = await o.db.platform((q) =>
      q.query('UPDATE audit_sinks SET anchored_at = $3 WHERE id = $1 AND lease_id = $2', [
        sink.id,
        lease,
        at,
      ]),
    );
    o.logger.info(
      {
        sinkId: sink.id,
        orgId: sink.org_id,
        platformSeq: anchor.platformSeq,
        platformHead: anchor.platformHead,
        orgSeq: anchor.orgSeq,
        orgHead: anchor.orgHead,
      },
      'audit chain anchor sent',
    );
    return rowCount === 1;
  }

  async #fail(sink: SinkRow, lease: string, err: unknown): Promise<void> {
    const o = this.#o;
    const reason = describeSinkError(err);
    const { rows } = await o.db.platform((q) =>
      q.query<{ attempts: number }>(
        `UPDATE audit_sinks SET attempts = attempts + 1, last_error = $3, last_error_at = now(),
                locked_until = NULL, lease_id = NULL, updated_at = now(),
                next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)
          WHERE id = $1 AND lease_id = $2 RETURNING attempts`,
        [sink.id, lease, reason, sinkBackoffMs(sink.attempts + 1, o.retryBaseMs, o.retryMaxMs)],
      ),
    );
    o.logger.warn(
      { sinkId: sink.id, orgId: sink.org_id, kind: sink.kind, attempts: rows[0]?.attempts, reason },
      'audit sink delivery failed',
    );
  }
}
