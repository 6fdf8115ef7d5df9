import { beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_QUERIES, BYPASS_ATTEMPTS } from './corpus.js';
import { checkSelect, loadSqlGuard } from './index.js';

beforeAll(() => loadSqlGuard());

describe('SELECT sandbox: adversarial corpus', () => {
  it('holds at least 60 bypass attempts', () => {
    expect(BYPASS_ATTEMPTS.length).toBeGreaterThanOrEqual(60);
  });

  it.each(BYPASS_ATTEMPTS.map(([t, sql]) => [t, sql] as const))('refuses %s', (_t, sql) => {
    const v = checkSelect(sql);
    expect(v.ok, sql).toBe(false);
    if (!v.ok) expect(v.reason.length).toBeGreaterThan(5);
  });

  it.each(ALLOWED_QUERIES.map((q) => [q] as const))('accepts %s', (sql) => {
    const v = checkSelect(sql);
    expect(v, sql).toMatchObject({ ok: true });
  });

  it('says why: the function in FROM is named, and stacked statements are called out', () => {
    expect(checkSelect("SELECT * FROM pg_read_file('/etc/passwd')")).toEqual({
      ok: false,
      reason: 'function pg_read_file is not allowed: it reads server files',
    });
    expect(checkSelect('SELECT 1; COMMIT')).toEqual({
      ok: false,
      reason: 'exactly one statement is allowed',
    });
    expect(checkSelect('WITH d AS (DELETE FROM t RETURNING 1) SELECT 1')).toEqual({
      ok: false,
      reason: 'Delete statements are not allowed',
    });
  });

  it('groups the same query with other constants under one fingerprint and hash', () => {
    const a = checkSelect("SELECT * FROM t WHERE id = 1 AND name = 'x'");
    const b = checkSelect("SELECT * FROM t WHERE id = 42 AND name = 'other'");
    const c = checkSelect('SELECT * FROM t WHERE id = 1');
    if (!a.ok || !b.ok || !c.ok) throw new Error('expected accepted');
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.queryHash).toBe(b.queryHash);
    expect(a.queryHash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });

  it('refuses deep nesting and oversized input without blowing the stack', () => {
    const deep = `${'SELECT ('.repeat(400)}1${')'.repeat(400)}`;
    expect(checkSelect(deep).ok).toBe(false);
    // Redundant parentheses are not nesting: harmless, and answered without throwing.
    expect(checkSelect(`SELECT ${'('.repeat(2_000)}1${')'.repeat(2_000)}`).ok).toBe(true);
    expect(checkSelect(`SELECT '${'x'.repeat(100_001)}'`).ok).toBe(false);
  });
});
