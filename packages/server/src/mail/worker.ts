import type { KeyRing } from '@rampart/core/seal';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import type { Mailer } from '../identity/mailer.js';
import { appendAudit } from '../platform/audit/append.js';
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
  /** How long a claim holds before another node may take the row over (a node that died mid-send). */
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

/**
 * A delivery error the SMTP server gave as permanent (5xx) is not retried: the same message to the same server
 * will be refused again. Anything else (4xx, connection refused, timeouts, TLS trouble) is retried with back-off.
 */
export function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown })?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** One line for the delivery record and the log: the server's answer, addresses masked, bounded. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
  const parts: string[] = [];
  if (typeof e?.responseCode === 'number') parts.push(`SMTP ${e.responseCode}`);
  else if (typeof e?.code === 'string') parts.push(e.code);
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  parts.push(msg.replace(/[^\s<>@]+@[^\s<>@]+/g, '***@***').replace(/\s+/g, ' '));
  return parts.join(': ').slice(0, 500);
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
  #lastSweep = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(o: MailWorkerOptions) {
    this.#o = { batch: 10, leaseMs: 120_000, ...o };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = onMailQueued(() => this.wake());
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
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
      this.#running = this.#round().finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        const again = this.#again;
        this.#again = false;
        this.#schedule(again ? 0 : this.#o.pollMs);
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

  /** One claim-and-deliver round; exposed for tests and the admin command. */
  async tick(): Promise<TickResult> {
    const o = this.#o;
    const { rows } = await o.db.platform((q) =>
      q.query<ClaimedRow>(
        `UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1,
                locked_until = now() + make_interval(secs => $2::double precision / 1000)
          WHERE id IN (SELECT id FROM mail_outbox
                        WHERE (status = 'queued' AND next_attempt_at <= now())
                           OR (status = 'sending' AND locked_until < now())
                        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, kind, org_id, ref, payload_sealed, attempts`,
        [o.batch, o.leaseMs],
      ),
    );
    const result: TickResult = { sent: 0, retried: 0, failed: 0 };
    for (const row of rows) result[await this.#deliver(row)]++;
    return result;
  }

  async #deliver(row: ClaimedRow): Promise<keyof TickResult> {
    const o = this.#o;
    let error: unknown;
    try {
      if (!row.payload_sealed) throw new Error('the message body is missing');
      const p = openPayload(o.ring, row.id, row.payload_sealed);
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
    const backoff = Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** (row.attempts - 1));
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    o.logger.warn({ mailId: row.id, kind: row.kind, attempts: row.attempts, reason, delay }, 'mail deferred');
    await o.db.platform((q) =>
      q.query(
        `UPDATE mail_outbox SET status = 'queued', locked_until = NULL, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
          WHERE id = $1 AND status = 'sending'`,
        [row.id, reason, delay],
      ),
    );
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
          WHERE id = $1 AND status = 'sending'`,
        [row.id, status, reason],
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
