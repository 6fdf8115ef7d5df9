import type { AlertChannel, Job, JobRun } from '@rampart/server/api-types';
import cronstrue from 'cronstrue';
import type { ReactNode } from 'react';
import { when } from '../../ui';

/** The shapes the jobs API returns, and the cron, time and duration helpers the jobs pages share. */

export type { Job } from '@rampart/server/api-types';
export type Run = JobRun;
export type Channel = AlertChannel;
export type Method = Job['method'];
export type AuthType = NonNullable<Job['auth']>['type'];
export type RunStatus = Run['status'];
export type ChannelType = Channel['type'];

/** The request methods a job may use, in the order the form offers them (the server's enum is the judge). */
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const satisfies readonly Method[];

// ---------------------------------------------------------------------------------------------------------
// Cron in words

export const PRESETS = [
  ['', 'Choose a common schedule…'],
  ['*/5 * * * *', 'Every 5 minutes'],
  ['0 * * * *', 'Every hour, on the hour'],
  ['0 9 * * *', 'Every day at 09:00'],
  ['0 9 * * 1-5', 'Weekdays at 09:00'],
  ['0 9 * * 1', 'Mondays at 09:00'],
  ['0 0 1 * *', 'The first of each month at 00:00'],
] as const;

/**
 * The 5 cron fields described in words, in the browser, for the schedule being typed. The server (croner)
 * remains the judge: saved jobs show the fire times it computes. Day-of-month and day-of-week together mean
 * either one, as in Vixie cron and on the server.
 */
export function describeCron(expression: string): { ok: boolean; text: string } {
  const trimmed = expression.trim();
  if (!trimmed) return { ok: false, text: 'Enter 5 fields: minute, hour, day of month, month, day of week.' };
  if (trimmed.startsWith('@'))
    return {
      ok: false,
      text: 'Nicknames such as @hourly are not accepted: write the 5 fields (0 * * * * is hourly).',
    };
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5)
    return {
      ok: false,
      text: `A schedule has exactly 5 fields (minute hour day-of-month month day-of-week); this has ${fields.length}.`,
    };
  try {
    const words = cronstrue.toString(fields.join(' '), {
      use24HourTimeFormat: true,
      verbose: true,
      throwExceptionOnParseError: true,
    });
    return { ok: true, text: `${words}.` };
  } catch (err) {
    const why = typeof err === 'string' ? err : err instanceof Error ? err.message : 'unreadable';
    return { ok: false, text: `Not a valid schedule: ${why.replace(/^Error:\s*/, '')}` };
  }
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
/** "in 23 minutes", "2 hours ago". */
export function fromNow(iso: string, now = Date.now()): string {
  const s = (new Date(iso).getTime() - now) / 1000;
  const a = Math.abs(s);
  if (a < 60) return rtf.format(Math.round(s), 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86_400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86_400), 'day');
}

/** A fire time as the job's time zone sees it. */
export function inZone(iso: string, timeZone: string): string {
  try {
    return new Date(iso).toLocaleString(undefined, {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });
  } catch {
    return when(iso);
  }
}

export const TIMEZONES: readonly string[] = (() => {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC'];
  }
})();
export const browserZone = (): string => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
};

export const ms = (n: number | null): string =>
  n === null ? '—' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;

// ---------------------------------------------------------------------------------------------------------
// Small form controls the shared ui module does not have

export function StatusBadge({ status, children }: { status: string; children?: ReactNode }) {
  return <span className={`status status-${status}`}>{children ?? status.replace(/_/g, ' ')}</span>;
}
