import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { AppError } from '../errors.js';
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

export interface AuditBatcherOptions {
  /** How long the first row of an idle org waits for company before its transaction starts (ms). */
  delayMs?: number;
  /** Most rows written in one transaction. */
  maxBatch?: number;
  /** Queued rows per org above which `admit()` holds new work until the writer catches up. */
  highWater?: number;
  /** How long `admit()` waits for room before refusing with `service_unavailable` (ms). */
  admitTimeoutMs?: number;
}

const READY = Promise.resolve();

/**
 * Appends high-volume audit rows (gateway usage) off the request path, as a group commit: one writer per org
 * drains that org's queue in order, each transaction taking every row queued while the previous one was being
 * written (up to `maxBatch`), so batches grow by themselves when the database falls behind. Rows stay
 * hash-chained like every other row.
 *
 * The queue is bounded: callers `await admit(orgId)` before doing work that will enqueue a row, and above
 * `highWater` queued rows admission waits for the writer (and refuses after `admitTimeoutMs`), so a sustained
 * overload slows the callers down instead of growing memory and the crash window without bound. A crash loses
 * at most the rows queued and in flight (under `highWater` + `maxBatch` per org, normally a few milliseconds'
 * worth), never a mutation's audit row, which is written in the mutation's own transaction. `close()` flushes
 * everything.
 */
export class AuditBatcher {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #delayMs: number;
  readonly #maxBatch: number;
  readonly #highWater: number;
  readonly #admitTimeoutMs: number;
  readonly #queues = new Map<string, Pending[]>();
  readonly #writers = new Map<string, Promise<void>>();
  readonly #waiters = new Map<string, Array<() => void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Database, log: Logger, opts: AuditBatcherOptions = {}) {
    this.#db = db;
    this.#log = log;
    this.#delayMs = opts.delayMs ?? 5;
    this.#maxBatch = opts.maxBatch ?? 1000;
    this.#highWater = opts.highWater ?? 5000;
    this.#admitTimeoutMs = opts.admitTimeoutMs ?? 10_000;
  }

  /** Rows queued for an org and not yet handed to a transaction. */
  queued(orgId: string): number {
    return this.#queues.get(orgId)?.length ?? 0;
  }

  /**
   * Resolves at once while the org's queue is under the high-water mark; otherwise when the writer has brought
   * it back under, or rejects with `service_unavailable` after `admitTimeoutMs`.
   */
  admit(orgId: string): Promise<void> {
    if (this.queued(orgId) < this.#highWater) return READY;
    return new Promise<void>((resolve, reject) => {
      const list = this.#waiters.get(orgId) ?? [];
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(wake);
        if (i !== -1) list.splice(i, 1);
        reject(new AppError('service_unavailable', 'The audit log is falling behind; try again shortly'));
      }, this.#admitTimeoutMs);
      list.push(wake);
      this.#waiters.set(orgId, list);
    });
  }

  enqueue(orgId: string, actor: AuditActor, event: AuditEvent): void {
    const q = this.#queues.get(orgId) ?? [];
    q.push({ actor, event });
    this.#queues.set(orgId, q);
    if (this.#writers.has(orgId)) return; // the running writer takes it in its next transaction
    if (q.length >= this.#maxBatch) void this.#drain(orgId);
    else this.#timer ??= setTimeout(() => void this.flush(), this.#delayMs);
  }

  /** The org's writer: starts one if none is running, and resolves when the queue is empty. */
  #drain(orgId: string): Promise<void> {
    const running = this.#writers.get(orgId);
    if (running) return running;
    const writer = (async () => {
      for (;;) {
        const q = this.#queues.get(orgId);
        if (!q?.length) break;
        const batch = q.splice(0, this.#maxBatch);
        if (q.length === 0) this.#queues.delete(orgId);
        await this.#write(orgId, batch);
        if (this.queued(orgId) < this.#highWater) this.#wake(orgId);
      }
    })().finally(() => {
      this.#writers.delete(orgId);
      this.#wake(orgId);
    });
    this.#writers.set(orgId, writer);
    return writer;
  }

  async #write(orgId: string, batch: Pending[]): Promise<void> {
    try {
      await this.#db.org(orgId, async (q) => {
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
        for (let i = 0; i < prepared.length; i += 1000) await appendPrepared(q, prepared.slice(i, i + 1000));
      });
    } catch (err) {
      this.#log.error({ err, rows: batch.length }, 'audit batch failed');
    }
  }

  #wake(orgId: string): void {
    const list = this.#waiters.get(orgId);
    if (!list) return;
    this.#waiters.delete(orgId);
    for (const wake of list) wake();
  }

  /** Writes everything queued so far; resolves when it is committed. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#queues.keys()].map((org) => this.#drain(org)));
    await Promise.all([...this.#writers.values()]);
  }

  close(): Promise<void> {
    return this.flush();
  }
}
