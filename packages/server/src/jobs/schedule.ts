import { Cron } from 'croner';
import { AppError } from '../platform/errors.js';

/**
 * Schedules are standard 5-field cron expressions (minute hour day-of-month month day-of-week) evaluated in an
 * IANA time zone by croner. Six-field (seconds) and nickname forms are refused: the contract is 5 fields and a
 * job may not fire more than once a minute.
 */
export interface Schedule {
  schedule: string;
  timezone: string;
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// Parsing a pattern costs more than evaluating it: the runner computes a next run per claim, so parsed
// schedules are kept (a paused Cron is only ever asked for fire times; it schedules nothing).
const CACHE_MAX = 5_000;
const cache = new Map<string, Cron>();

function cronOf(s: Schedule): Cron {
  const key = `${s.timezone}\u0000${s.schedule}`;
  const hit = cache.get(key);
  if (hit) return hit;
  // legacyMode (the default) ORs day-of-month and day-of-week as Vixie cron does.
  const cron = new Cron(s.schedule, { timezone: s.timezone, paused: true });
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(key, cron);
  return cron;
}

/**
 * Checks an expression and zone and returns them normalised (single spaces).
 * @throws AppError validation_failed with a message that says what is wrong
 */
export function parseSchedule(expression: string, timezone: string): Schedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    throw new AppError(
      'validation_failed',
      'schedule must be a 5-field cron expression: minute hour day-of-month month day-of-week',
    );
  if (!validTimezone(timezone))
    throw new AppError(
      'validation_failed',
      'timezone must be an IANA time zone such as Europe/Berlin or UTC',
    );
  const s = { schedule: fields.join(' '), timezone };
  let next: Date | null;
  try {
    next = cronOf(s).nextRun();
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern:\s*/, '').slice(0, 200);
    throw new AppError('validation_failed', `schedule is not a valid cron expression: ${why}`);
  }
  if (!next) throw new AppError('validation_failed', 'schedule never fires');
  return s;
}

/** The first fire time strictly after `after`, or null if the expression never fires again. */
export function nextRunAfter(s: Schedule, after: Date): Date | null {
  return cronOf(s).nextRun(after);
}

/** The next `n` fire times after `after` (for previews). */
export function nextRuns(s: Schedule, n: number, after: Date): Date[] {
  return cronOf(s).nextRuns(n, after);
}
