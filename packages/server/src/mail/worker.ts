import type { KeyRing } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { appendAudit } from '../platform/audit/append.js';
import { type Mailer, PermanentMailError } from '../platform/mailer.js';
import { onMailQueued, openPayload } from './outbox.js';

export interface MailWorkerOptions {
  db: Database;
  ring: KeyRing;
  transport: Mailer;
  logger: Logger;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  retentionDays: number;
  /** Rows claimed per round. */
  batch?: number;
  /**
   * How long a claim holds before another node may take the row over (a node that died mid-send). Must exceed
   * one delivery's worst case (the SMTP timeouts); a row is claimed just before its own delivery.
   */
  leaseMs?: number;
}

interface ClaimedRow {
  id: string;
  kind: string;
  org_id: string | null;
  ref: Record<string, string>;
  payload_sealed: string | null;
  attempts: number;
}

export interface TickResult {
  sent: number;
  retried: number;
  failed: number;
}

const SWEEP_EVERY_MS = 3_600_000;

export { PermanentMailError };

/**
 * Whether a delivery error is final. The SMTP server refusing the envelope or the message with 5xx (MAIL FROM,
 * RCPT TO, DATA) will refuse the same message again: not retried. Everything else is retried with back-off:
 * 4xx, connection refused, timeouts, and also a 5xx to STARTTLS or AUTH, which says the relay or Rampart's
 * settings are wrong right now (an operator fixes them; the queued mail must survive until then).
 */
export function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentMailError) return true;
  const e = err as { responseCode?: unknown; code?: unknown };
  const code = e?.responseCode;
  if (typeof code !== 'number' || code < 500 || code >= 600) return false;
  return e.code === undefined || e.code === 'EENVELOPE' || e.code === 'EMESSAGE';
}

/**
 * One line for the delivery record and the log: the error class, SMTP code and the server's answer, with
 * addresses masked and anything that looks like a link or a token cut out (a relay may quote the message it
 * refused, and the message carries single-use links), bounded to 500 characters.
 */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
  const parts: string[] = [];
  if (typeof e?.code === 'string' && /^[A-Z_]{2,20}$/.test(e.code)) parts.push(e.code);
  if (typeof e?.responseCode === 'number') parts.push(`SMTP ${e.responseCode}`);
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  parts.push(
    msg
      .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<link>')
      .replace(/[^\s<>@"'(),;:]+@[^\s<>@"'(),;:]+/g, '***@***')
      .replace(/[A-Za-z0-9_+/=-]{24,}/g, '***')
      .replace(/\s+/g, ' ')
      .trim(),
  );
  const line = parts.join(': ');
  return line.length > 500 ? `${line.slice(0, 499)}…` : line;
}

/** Back-off before attempt `attempts + 1`: base × 2^(attempts − 1), ±20 % jitter, never above the cap. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random = Math.random()): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.max(1, Math.min(maxMs, Math.round(exp * (0.8 + random * 0.4))));
}

/**
 * Delivers the mail outbox. Each round claims due rows with FOR UPDATE SKIP LOCKED under a lease, so any number
 * of nodes share the work and each message goes out once; a node that dies mid-send leaves its rows to be taken
 * over when the lease ends (the message may then go out twice, never zero times). Temporary failures back off
 * exponentially (base × 2^(attempt-1), capped, with jitter) up to maxAttempts; then, or at once on a permanent
 * (5xx) refusal, the row is marked failed. The sealed body is dropped when a row is done either way.
 */
export class MailWorker {
  readonly #o: Required<MailWorkerOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  /** stop() was called: finish the delivery in hand, claim nothing more. */
  #closing = false;
  #lastSweep = 0;
  /** When the soonest retry this node deferred falls due: the next round runs then if that is before a poll. */
  #retryDueAt = Number.POSITIVE_INFINITY;
  #unsubscribe: (() => void) | undefined;

  constructor(o: MailWorkerOptions) {
    this.#o = { batch: 20, leaseMs: 300_000, ...o };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#closing = false;
    this.#unsubscribe = onMailQueued(() => this.wake());
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#closing = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** Look for due mail now (mail was just queued on this node). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const startedAt = Date.now();
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        // A retry that fell due before this round started was claimed by it; a later one still needs a round
        // (an early wake-up must not make the worker forget it and wait for the poll).
        if (this.#retryDueAt <= startedAt) this.#retryDueAt = Number.POSITIVE_INFINITY;
        if (this.#stopped) return;
        const again = this.#again;
        this.#again = false;
        const untilRetry = Math.max(0, this.#retryDueAt - Date.now());
        this.#schedule(again ? 0 : Math.min(this.#o.pollMs, untilRetry));
      });
    }, ms);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    try {
      for (;;) {
        const r = await this.tick();
        if (this.#stopped || r.sent + r.retried + r.failed < this.#o.batch) break;
      }
      if (Date.now() - this.#lastSweep > SWEEP_EVERY_MS) {
        this.#lastSweep = Date.now();
        await this.sweep();
      }
    } catch (err) {
      this.#o.logger.error({ err }, 'mail outbox round failed');
    }
  }

  /**
   * One round: claims due rows one at a time (so a row's lease only has to cover its own delivery, not a whole
   * batch's) and delivers each, up to `batch` rows. Exposed for tests.
   */
  async tick(): Promise<TickResult> {
    const result: TickResult = { sent: 0, retried: 0, failed: 0 };
    for (let i = 0; i < this.#o.batch && !this.#closing; i++) {
      const row = await this.#claim();
      if (!row) break;
      result[await this.#deliver(row)]++;
    }
    return result;
  }

  /**
   * Takes one due row: queued and due, or `sending` under a lease that ran out (its node died mid-send). FOR
   * UPDATE SKIP LOCKED lets every node claim at once without two taking the same row; the claim bumps
   * `attempts`, which then fences every later write (a node whose lease was taken over cannot overwrite the
   * outcome of the node that took it).
   */
  async #claim(): Promise<ClaimedRow | undefined> {
    const o = this.#o;
    const { rows } = await o.db.platform((q) =>
      q.query<ClaimedRow>(
        `UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1,
                locked_until = now() + make_interval(secs => $1::double precision / 1000)
          WHERE id = (SELECT id FROM mail_outbox
                       WHERE (status = 'queued' AND next_attempt_at <= now())
                          OR (status = 'sending' AND locked_until < now())
                       ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, kind, org_id, ref, payload_sealed, attempts`,
        [o.leaseMs],
      ),
    );
    return rows[0];
  }

  async #deliver(row: ClaimedRow): Promise<keyof TickResult> {
    const o = this.#o;
    let error: unknown;
    try {
      let p: ReturnType<typeof openPayload>;
      try {
        if (!row.payload_sealed) throw new Error('missing');
        p = openPayload(o.ring, row.id, row.payload_sealed);
      } catch {
        // A missing master key or a damaged envelope will not heal by waiting.
        throw new PermanentMailError(
          'the sealed message cannot be opened (master key missing or data damaged)',
        );
      }
      await o.transport.send({ to: p.to, subject: p.subject, text: p.text, html: p.html });
    } catch (err) {
      error = err;
    }
    if (error === undefined) {
      await this.#finish(row, 'sent', null);
      return 'sent';
    }
    const reason = describeError(error);
    if (isPermanent(error) || row.attempts >= o.maxAttempts) {
      o.logger.error(
        { mailId: row.id, kind: row.kind, attempts: row.attempts, reason },
        'mail failed for good',
      );
      await this.#finish(row, 'failed', reason);
      return 'failed';
    }
    const delay = backoffMs(row.attempts, o.retryBaseMs, o.retryMaxMs);
    o.logger.warn({ mailId: row.id, kind: row.kind, attempts: row.attempts, reason, delay }, 'mail deferred');
    await o.db.platform((q) =>
      q.query(
        `UPDATE mail_outbox SET status = 'queued', locked_until = NULL, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
          WHERE id = $1 AND status = 'sending' AND attempts = $4`,
        [row.id, reason, delay, row.attempts],
      ),
    );
    // Taken after the write: the row's due time is the database's now() (its transaction start) plus the delay,
    // so a timer set from a clock read before the write could fire while the row is not yet due, find nothing,
    // and leave the retry to the poll.
    this.#retryDueAt = Math.min(this.#retryDueAt, Date.now() + delay + 5);
    return 'retried';
  }

  /**
   * Records the outcome and drops the body. A job alert's outcome is audited in its org in the same transaction
   * (`job.alert_sent` only once the SMTP server accepted it, `job.alert_failed` when it never will).
   */
  async #finish(row: ClaimedRow, status: 'sent' | 'failed', reason: string | null): Promise<void> {
    const write = async (q: Queryable) => {
      const upd = await q.query(
        `UPDATE mail_outbox SET status = $2, payload_sealed = NULL, locked_until = NULL, last_error = $3,
                sent_at = CASE WHEN $2 = 'sent' THEN now() END, failed_at = CASE WHEN $2 = 'failed' THEN now() END
          WHERE id = $1 AND status = 'sending' AND attempts = $4`,
        [row.id, status, reason, row.attempts],
      );
      if (upd.rowCount === 1 && row.kind === 'job_alert' && row.org_id) {
        await appendAudit(
          q,
          {},
          {
            orgId: row.org_id,
            action: status === 'sent' ? 'job.alert_sent' : 'job.alert_failed',
            target: `job:${row.ref.jobId ?? 'unknown'}`,
            meta: {
              channelId: row.ref.channelId,
              channelType: 'email',
              alert: row.ref.alert,
              runId: row.ref.runId,
              mailId: row.id,
              ...(reason ? { reason } : {}),
            },
          },
        );
      }
    };
    await this.#o.db.tx({ orgId: row.org_id, platform: true }, write);
  }

  /** Deletes delivery records (sent or failed, bodies already gone) older than the retention. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.#o.db.platform((q) =>
      q.query(
        `DELETE FROM mail_outbox WHERE status IN ('sent', 'failed')
            AND coalesce(sent_at, failed_at, created_at) < now() - make_interval(days => $1)`,
        [this.#o.retentionDays],
      ),
    );
    return rowCount;
  }
}
