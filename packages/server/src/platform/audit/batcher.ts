import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import {
  type AuditActor,
  type AuditEvent,
  appendPrepared,
  type PreparedAudit,
  prepareAudit,
} from './append.js';

interface Pending {
  actor: AuditActor;
  event: AuditEvent;
}

/**
 * Appends high-volume audit rows (gateway usage) off the request path: rows are queued per org and written
 * within `delayMs` in one transaction per org, in order, still hash-chained like every other row. The cost is
 * a window of a few milliseconds in which a crash loses queued usage rows (never rows of a mutation, which
 * are written in the mutation's own transaction). `close()` flushes everything.
 */
export class AuditBatcher {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #delayMs: number;
  readonly #maxBatch: number;
  readonly #queues = new Map<string, Pending[]>();
  readonly #chains = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Database, log: Logger, opts: { delayMs?: number; maxBatch?: number } = {}) {
    this.#db = db;
    this.#log = log;
    this.#delayMs = opts.delayMs ?? 5;
    this.#maxBatch = opts.maxBatch ?? 500;
  }

  enqueue(orgId: string, actor: AuditActor, event: AuditEvent): void {
    const q = this.#queues.get(orgId) ?? [];
    q.push({ actor, event });
    this.#queues.set(orgId, q);
    if (q.length >= this.#maxBatch) this.#flushOrg(orgId);
    else this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  #flushOrg(orgId: string): Promise<void> {
    const batch = this.#queues.get(orgId);
    this.#queues.delete(orgId);
    const prior = this.#chains.get(orgId) ?? Promise.resolve();
    if (!batch?.length) return prior;
    // One writer per org at a time keeps the rows in call order.
    const next = prior.then(() =>
      this.#db
        .org(orgId, async (q) => {
          // Validate first: a refused row (untrusted metadata) is logged and skipped, never sinks the batch.
          const prepared: PreparedAudit[] = [];
          for (const p of batch) {
            try {
              prepared.push(prepareAudit(p.actor, p.event));
            } catch (err) {
              this.#log.error({ err, action: p.event.action }, 'audit row refused');
            }
          }
          // Slices keep each INSERT well under PostgreSQL's 65,535-parameter limit.
          for (let i = 0; i < prepared.length; i += 1000)
            await appendPrepared(q, prepared.slice(i, i + 1000));
        })
        .catch((err: unknown) => this.#log.error({ err, rows: batch.length }, 'audit batch failed')),
    );
    this.#chains.set(orgId, next);
    void next.then(() => {
      if (this.#chains.get(orgId) === next) this.#chains.delete(orgId);
    });
    return next;
  }

  /** Writes everything queued so far; resolves when it is committed. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#queues.keys()].map((org) => this.#flushOrg(org)));
    await Promise.all([...this.#chains.values()]);
  }

  close(): Promise<void> {
    return this.flush();
  }
}
