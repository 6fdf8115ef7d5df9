import { MAX_VERSION, SKILL_NAME } from '@rampart/core/skillpack';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import { newId } from '../platform/ids.js';

/** Events per batch; anything larger is refused whole (400), never truncated. */
export const MAX_EVENTS_PER_BATCH = 100;
/** Bytes per telemetry request (413 beyond): 100 events of the schema below fit with room to spare. */
export const TELEMETRY_BODY_LIMIT = 64 * 1024;
const DAY_MS = 86_400_000;
const SWEEP_BATCH = 1_000;

/**
 * One workflow run, described only by numbers, enums and short identifiers. Strict objects: an unknown field
 * (a page title, a URL, a DOM snapshot) fails the whole batch, so content cannot ride along under a new name.
 */
export const telemetryEvent = z
  .strictObject({
    skill: z.string().regex(SKILL_NAME, 'a skill name (a-z, 0-9, ".", "_", "-")'),
    version: z.number().int().min(1).max(MAX_VERSION),
    stepsTotal: z.number().int().min(0).max(100_000),
    stepsOk: z.number().int().min(0).max(100_000),
    stepsFailed: z.number().int().min(0).max(100_000),
    durationMs: z
      .number()
      .int()
      .min(0)
      .max(7 * DAY_MS),
    outcome: z.enum(['succeeded', 'failed', 'cancelled', 'timed_out']),
    // A code, not a message: error messages quote page text and URLs.
    errorCode: z
      .string()
      .regex(/^[a-z0-9_.-]{1,64}$/, 'an error code (a-z, 0-9, "_", ".", "-"; at most 64)')
      .nullable()
      .optional(),
    runtimeVersion: z.string().regex(/^[0-9A-Za-z.+-]{1,32}$/, 'a version string such as 1.4.2'),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((e) => e.stepsOk + e.stepsFailed <= e.stepsTotal, {
    message: 'stepsOk + stepsFailed cannot exceed stepsTotal',
    path: ['stepsTotal'],
  });

export const telemetryBatch = z.strictObject({
  events: z.array(telemetryEvent).min(1).max(MAX_EVENTS_PER_BATCH),
});

export type TelemetryEvent = z.infer<typeof telemetryEvent>;

/** Inserts a batch in one statement (all or nothing). Times from the future are clamped to now. */
export async function ingestTelemetry(
  q: Queryable,
  orgId: string,
  tokenId: string,
  events: readonly TelemetryEvent[],
  now: Date,
): Promise<number> {
  const values: unknown[] = [];
  const tuples = events.map((e) => {
    const at = e.occurredAt ? new Date(e.occurredAt) : now;
    const row = [
      newId(),
      orgId,
      tokenId,
      now,
      at > now ? now : at,
      e.skill,
      e.version,
      e.stepsTotal,
      e.stepsOk,
      e.stepsFailed,
      e.durationMs,
      e.outcome,
      e.errorCode ?? null,
      e.runtimeVersion,
    ];
    const first = values.length + 1;
    values.push(...row);
    return `(${row.map((_, j) => `$${first + j}`).join(', ')})`;
  });
  await q.query(
    `INSERT INTO runtime_telemetry (id, org_id, token_id, received_at, occurred_at, skill, version, steps_total,
       steps_ok, steps_failed, duration_ms, outcome, error_code, runtime_version) VALUES ${tuples.join(', ')}`,
    values,
  );
  return events.length;
}

interface TelemetryRow {
  id: string;
  received_at: Date;
  occurred_at: Date;
  skill: string;
  version: number;
  steps_total: number;
  steps_ok: number;
  steps_failed: number;
  duration_ms: number;
  outcome: TelemetryEvent['outcome'];
  error_code: string | null;
  runtime_version: string;
  token_id: string;
}

export async function listTelemetry(
  q: Queryable,
  orgId: string,
  opts: { skill?: string | undefined; before?: string | undefined; limit: number },
) {
  const { rows } = await q.query<TelemetryRow>(
    `SELECT id, received_at, occurred_at, skill, version, steps_total, steps_ok, steps_failed, duration_ms,
            outcome, error_code, runtime_version, token_id
       FROM runtime_telemetry
      WHERE org_id = $1 AND ($2::text IS NULL OR skill = $2) AND ($3::timestamptz IS NULL OR received_at < $3)
      ORDER BY received_at DESC, id DESC LIMIT $4`,
    [orgId, opts.skill ?? null, opts.before ?? null, opts.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    receivedAt: r.received_at.toISOString(),
    occurredAt: r.occurred_at.toISOString(),
    skill: r.skill,
    version: r.version,
    stepsTotal: r.steps_total,
    stepsOk: r.steps_ok,
    stepsFailed: r.steps_failed,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    errorCode: r.error_code,
    runtimeVersion: r.runtime_version,
    runtimeTokenId: r.token_id,
  }));
}

/**
 * Deletes telemetry received more than `days` ago, org by org (under RLS), 1,000 rows per transaction.
 * @returns rows deleted
 */
export async function sweepTelemetry(db: Database, days: number, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  let deleted = 0;
  for (const orgId of await db.orgIds()) {
    for (;;) {
      const n = await db.org(orgId, async (q) => {
        const res = await q.query(
          `DELETE FROM runtime_telemetry WHERE id IN (
             SELECT id FROM runtime_telemetry WHERE org_id = $1 AND received_at < $2 LIMIT $3)`,
          [orgId, cutoff, SWEEP_BATCH],
        );
        return res.rowCount;
      });
      deleted += n;
      if (n < SWEEP_BATCH) break;
    }
  }
  return deleted;
}

/** Runs {@link sweepTelemetry} on a timer (unref'd, so it never holds the process open). */
export class TelemetrySweeper {
  #timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly db: Database,
    private readonly days: number,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      sweepTelemetry(this.db, this.days, new Date())
        .then((n) => {
          if (n) this.logger.info({ deleted: n }, 'runtime telemetry swept');
        })
        .catch((err) => this.logger.error({ err }, 'runtime telemetry sweep failed'));
    }, this.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
