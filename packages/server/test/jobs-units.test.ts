/** Pure parts of the job runner: snippet scrubbing at the 2 KB cut, schedules in time zones, env references. */
import { describe, expect, it } from 'vitest';
import { nextRunAfter, nextRuns, parseSchedule } from '../src/jobs/schedule.js';
import { SNIPPET_BYTES, snippetOf } from '../src/jobs/snippet.js';
import { EnvResolutionError, resolveJobValue } from '../src/jobs/values.js';

const SECRET = 'sk-live-PLAINTEXT-0123456789abcdefghij';

describe('snippetOf', () => {
  it('keeps the first 2 KB', () => {
    const s = snippetOf(Buffer.from('a'.repeat(10_000)), []);
    expect(Buffer.byteLength(s)).toBe(SNIPPET_BYTES);
  });

  it('replaces a secret that straddles the 2 KB cut, leaving no prefix of it', () => {
    for (let offset = SNIPPET_BYTES - SECRET.length; offset <= SNIPPET_BYTES; offset++) {
      const body = Buffer.from(`${'a'.repeat(offset)}${SECRET}${'b'.repeat(5_000)}`);
      const s = snippetOf(body, [SECRET]);
      for (let k = 4; k <= SECRET.length; k++)
        expect(s.includes(SECRET.slice(0, k)), `offset ${offset}`).toBe(false);
    }
  });

  it('replaces the tail of a body that itself ends in the middle of a secret', () => {
    const s = snippetOf(Buffer.from(`token=${SECRET.slice(0, 12)}`), [SECRET]);
    expect(s).toBe('token=[SECRET]');
  });

  it('redacts PII that straddles the cut instead of storing half of it', () => {
    const email = 'jane.doe@example.com';
    const body = Buffer.from(`${'a'.repeat(SNIPPET_BYTES - 8)} ${email} tail`);
    const s = snippetOf(body, []);
    expect(s).not.toContain('jane.doe');
    expect(s).not.toContain('jane');
  });

  it('never cuts inside a multi-byte character', () => {
    const s = snippetOf(Buffer.from('é'.repeat(3_000)), []);
    expect(s).not.toContain('\uFFFD');
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(SNIPPET_BYTES);
  });
});

describe('schedules', () => {
  it('normalises whitespace and evaluates in the job time zone, across daylight saving time', () => {
    const s = parseSchedule('  0   9 * * *  ', 'Europe/Berlin');
    expect(s.schedule).toBe('0 9 * * *');
    // 09:00 in Berlin: 08:00 UTC in winter (CET), 07:00 UTC after the switch on 2026-03-29 (CEST).
    const runs = nextRuns(s, 4, new Date('2026-03-27T12:00:00Z')).map((d) => d.toISOString());
    expect(runs).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-03-31T07:00:00.000Z',
    ]);
  });

  it('next run is strictly after the given instant', () => {
    const s = parseSchedule('*/15 * * * *', 'UTC');
    expect(nextRunAfter(s, new Date('2026-01-01T10:15:00Z'))?.toISOString()).toBe('2026-01-01T10:30:00.000Z');
  });
});

describe('env references at send time', () => {
  const ORG = '11111111-1111-4111-8111-111111111111';
  const everyOrg = [{ org: '*', prefix: 'JOB_' }];
  it('resolves allowed, set variables; refuses names no longer allowed and unset ones, naming only the variable', () => {
    const env = { JOB_A: 'value-a', OTHER: 'nope' };
    expect(resolveJobValue('literal', everyOrg, ORG, env)).toBe('literal');
    expect(resolveJobValue('env:JOB_A', everyOrg, ORG, env)).toBe('value-a');
    expect(() => resolveJobValue('env:OTHER', everyOrg, ORG, env)).toThrow(EnvResolutionError);
    expect(() => resolveJobValue('env:JOB_A', [], ORG, env)).toThrow(/not allowed for this org/);
    expect(() => resolveJobValue('env:JOB_B', everyOrg, ORG, env)).toThrow(
      'env:JOB_B is not set on this server',
    );
  });
});
