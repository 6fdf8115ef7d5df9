/**
 * The SELECT sandbox on real PostgreSQL (a throwaway database and a SELECT-only role it creates): accepted
 * queries run and return rows; the execution layer alone (handed statements the guard would refuse) still
 * cannot write, stack statements, keep a setting, or outlive its timeout; every corpus entry is refused before
 * it reaches the database and leaves it unchanged.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BYPASS_ATTEMPTS } from '../../core/src/sqlguard/corpus.js';
import { DEFAULT_LIMITS, execute, runSandboxed } from '../src/dbaccess/sandbox.js';
import { AppError } from '../src/platform/errors.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';

const BASE = process.env.TEST_DATABASE_URL;
const verdict = { queryHash: 'x'.repeat(64), fingerprint: 'f' };

describe.skipIf(!BASE)('SELECT sandbox on real PostgreSQL', () => {
  let customer: ReaderDatabase;
  let admin: pg.Client;
  let reader: pg.Client;
  const snapshot = async () =>
    (
      await admin.query<{ n: number; s: string }>(
        "SELECT count(*)::int AS n, string_agg(email, ',' ORDER BY id) AS s FROM customers",
      )
    ).rows[0];

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    ({ admin, reader } = customer);
  });
  afterAll(() => customer?.close());

  it('runs an accepted query with parameters and returns columns and rows', async () => {
    const r = await runSandboxed(
      reader,
      'SELECT id, email FROM customers WHERE spend > $1 ORDER BY id;',
      [480],
    );
    expect(r.columns).toEqual(['id', 'email']);
    expect(r.rows).toEqual([
      [49, 'c49@example.com'],
      [50, 'c50@example.com'],
    ]);
    expect(r.rowCount).toBe(2);
    expect(r.truncated).toBe(false);
    expect(r.queryHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('caps rows and bytes', async () => {
    const rows = await runSandboxed(reader, 'SELECT * FROM generate_series(1, 100000) AS g(n)', [], {
      ...DEFAULT_LIMITS,
      maxRows: 10,
    });
    expect(rows).toMatchObject({ rowCount: 10, truncated: true });
    const bytes = await runSandboxed(reader, "SELECT repeat('x', 1000) FROM generate_series(1, 100)", [], {
      ...DEFAULT_LIMITS,
      maxBytes: 5_000,
    });
    expect(bytes.truncated).toBe(true);
    expect(bytes.rowCount).toBeLessThan(6);
  });

  it('times out a long query (statement_timeout) and leaves the session usable', async () => {
    await expect(
      runSandboxed(reader, 'SELECT count(*) FROM generate_series(1, 500000000)', [], {
        ...DEFAULT_LIMITS,
        timeoutMs: 200,
      }),
    ).rejects.toMatchObject({ code: 'upstream_timeout' });
    expect((await runSandboxed(reader, 'SELECT 1 AS one', [])).rows).toEqual([[1]]);
  });

  it('refuses every corpus entry before the database sees it, and the data is unchanged', async () => {
    const before = await snapshot();
    for (const [technique, sql] of BYPASS_ATTEMPTS) {
      const err = await runSandboxed(reader, sql, []).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, technique).toBeInstanceOf(AppError);
      expect((err as AppError).code, technique).toBe('query_not_allowed');
    }
    expect(await snapshot()).toEqual(before);
  });

  describe('the execution layer holds on its own (handed statements the guard refuses)', () => {
    it.each([
      ['a write', 'DELETE FROM customers'],
      ['a data-modifying CTE', 'WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d'],
      ['stacked COMMIT', 'SELECT 1; COMMIT'],
      ['stacked write', 'SELECT 1; DELETE FROM customers'],
      ['nextval', "SELECT nextval('counter')"],
      ['a locking clause', 'SELECT * FROM customers FOR UPDATE'],
    ])('%s is refused by PostgreSQL and changes nothing', async (_what, sql) => {
      const before = await snapshot();
      await expect(execute(reader, sql, [], DEFAULT_LIMITS, verdict)).rejects.toBeInstanceOf(AppError);
      expect(await snapshot()).toEqual(before);
      const seq = await admin.query<{ last_value: string; is_called: boolean }>(
        'SELECT last_value, is_called FROM counter',
      );
      expect(seq.rows[0]?.is_called).toBe(false);
    });

    it('a setting changed inside the sandbox does not survive it (always ROLLBACK)', async () => {
      const r = await execute(
        reader,
        "SELECT set_config('application_name', 'escaped', false) AS v",
        [],
        DEFAULT_LIMITS,
        verdict,
      );
      expect(r.rows).toEqual([['escaped']]);
      const after = await reader.query<{ v: string }>("SELECT current_setting('application_name') AS v");
      expect(after.rows[0]?.v).not.toBe('escaped');
      const ro = await reader.query<{ v: string }>("SELECT current_setting('transaction_read_only') AS v");
      expect(ro.rows[0]?.v).toBe('off'); // the session is back to normal, outside any sandbox transaction
    });
  });
});
