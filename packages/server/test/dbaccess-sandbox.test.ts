/**
 * The SELECT sandbox on real PostgreSQL (a throwaway database and a SELECT-only role it creates): accepted
 * queries run and return rows; the execution layer alone (handed statements the guard would refuse) still
 * cannot write, stack statements, keep a setting, or outlive its timeout; every corpus entry is refused before
 * it reaches the database and leaves it unchanged.
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BYPASS_ATTEMPTS } from '../../core/src/sqlguard/corpus.js';
import { DEFAULT_LIMITS, execute, runSandboxed } from '../src/dbaccess/sandbox.js';
import { AppError } from '../src/platform/errors.js';
import { createReaderDatabase, type ReaderDatabase, startSilentPostgres } from './dbaccess-support.js';

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

  describe('review finding 2: one statement, read by the server as the guard read it (a role granted DELETE)', () => {
    let over: ReaderDatabase;
    let dbName: string;
    const count = async () =>
      (await over.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM customers')).rows[0]?.n;
    beforeAll(async () => {
      over = await createReaderDatabase(BASE as string);
      dbName = (await over.admin.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d as string;
      // A misconfigured customer role: the sandbox must hold even when the grants do not.
      await over.admin.query(`GRANT DELETE ON customers TO ${new URL(over.readerUrl).username}`);
    });
    afterAll(() => over?.close());
    beforeEach(async () => {
      await over.admin.query('DELETE FROM customers');
      await over.admin.query(
        `INSERT INTO customers SELECT g, 'c' || g || '@example.com', g * 10 FROM generate_series(1, 50) g`,
      );
    });

    it('a stacked COMMIT; DELETE hidden from the guard by standard_conforming_strings=off does not run', async () => {
      const payload = "SELECT '\\'' ) AS q; COMMIT; DELETE FROM customers; SELECT * FROM (SELECT 1 --'";
      await over.admin.query(`ALTER DATABASE ${dbName} SET standard_conforming_strings = off`);
      const c = new pg.Client({ connectionString: over.readerUrl });
      c.on('error', () => {});
      await c.connect();
      try {
        const scs = await c.query<{ standard_conforming_strings: string }>(
          'SHOW standard_conforming_strings',
        );
        expect(scs.rows[0]?.standard_conforming_strings).toBe('off');
        const r = await runSandboxed(c, payload, []).catch((e: unknown) => e as AppError);
        expect(await count()).toBe(50);
        // The server read one string literal, exactly as the guard did: nothing stacked ran.
        expect((r as { rows?: unknown }).rows).toEqual([
          ["\\' ) AS q; COMMIT; DELETE FROM customers; SELECT * FROM (SELECT 1 --"],
        ]);
        expect(await count()).toBe(50);
        // And the session's own setting is untouched afterwards (the sandbox set it transaction-locally).
        const after = await c.query<{ standard_conforming_strings: string }>(
          'SHOW standard_conforming_strings',
        );
        expect(after.rows[0]?.standard_conforming_strings).toBe('off');
      } finally {
        await c.end().catch(() => {});
        await over.admin.query(`ALTER DATABASE ${dbName} RESET standard_conforming_strings`);
      }
      expect(await count()).toBe(50);
    });

    it('property: no string-escape trick and stacked write gets past the sandbox, guard or not (scs=off)', async () => {
      await over.admin.query(`ALTER DATABASE ${dbName} SET standard_conforming_strings = off`);
      const c = new pg.Client({ connectionString: over.readerUrl });
      c.on('error', () => {});
      await c.connect();
      try {
        const opener = fc.constantFrom(
          "'\\''",
          "'\\'",
          "E'\\''",
          "'\\\\''",
          "'x\\'",
          "''",
          '$$\\$$',
          "U&'\\0027'",
        );
        const closer = fc.constantFrom(' ) AS q; ', ') AS q;', ' ) q ;\n', '); ', ' --\n) AS q; ');
        const stacked = fc.constantFrom(
          'COMMIT; DELETE FROM customers',
          'END; DELETE FROM customers',
          'ROLLBACK; DELETE FROM customers',
          'COMMIT; BEGIN; DELETE FROM customers; COMMIT',
          'SET TRANSACTION READ WRITE; DELETE FROM customers',
          'DELETE FROM customers',
        );
        const tail = fc.constantFrom(
          "; SELECT * FROM (SELECT 1 --'",
          '; SELECT * FROM (SELECT 1',
          "; SELECT 1 --'",
        );
        await fc.assert(
          fc.asyncProperty(opener, closer, stacked, tail, fc.boolean(), async (o, cl, st, t, guarded) => {
            const sql = `SELECT ${o}${cl}${st}${t}`;
            const run = guarded ? runSandboxed(c, sql, []) : execute(c, sql, [], DEFAULT_LIMITS, verdict);
            const err = await run.then(
              () => null,
              (e: unknown) => e,
            );
            if (err !== null) expect(err, sql).toBeInstanceOf(AppError);
            expect(await count(), sql).toBe(50);
          }),
          { numRuns: 60 },
        );
      } finally {
        await c.end().catch(() => {});
        await over.admin.query(`ALTER DATABASE ${dbName} RESET standard_conforming_strings`);
      }
    });

    it('a parameterless stacked COMMIT; DELETE handed to the execution layer is refused (extended protocol)', async () => {
      const c = new pg.Client({ connectionString: over.readerUrl });
      await c.connect();
      try {
        const err = await execute(
          c,
          'SELECT 1 AS q) AS x; COMMIT; DELETE FROM customers; SELECT * FROM (SELECT 1',
          [],
          DEFAULT_LIMITS,
          verdict,
        ).then(
          () => null,
          (e: unknown) => e,
        );
        expect(await count()).toBe(50);
        expect(err).toBeInstanceOf(AppError);
        expect((err as AppError).message).toContain('cannot insert multiple commands');
      } finally {
        await c.end();
      }
    });
  });

  describe('review finding 4: results are streamed and capped, and a silent database cannot hold the call', () => {
    it('a 900 MB result (repeat 100 MB x 9 rows) stops at maxBytes with bounded memory', async () => {
      const c = new pg.Client({ connectionString: customer.readerUrl });
      c.on('error', () => {});
      await c.connect();
      const base = process.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const started = performance.now();
      try {
        const r = await runSandboxed(c, 'SELECT repeat($1, 100000000) FROM generate_series(1, 9)', ['x'], {
          ...DEFAULT_LIMITS,
          timeoutMs: 20_000,
        });
        expect(r).toMatchObject({ rowCount: 0, truncated: true });
      } finally {
        clearInterval(sampler);
        await c.end().catch(() => {});
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      const ms = performance.now() - started;
      console.log(`huge result: ${Math.round(ms)} ms, RSS peak +${Math.round((peak - base) / 1048576)} MB`);
      expect(peak - base).toBeLessThan(150 * 1024 * 1024);
    }, 30_000);

    it('many rows stop at maxBytes while reading: rows kept fit the cap', async () => {
      const r = await runSandboxed(
        reader,
        "SELECT repeat('y', 10000) AS v FROM generate_series(1, 5000)",
        [],
        {
          ...DEFAULT_LIMITS,
          maxBytes: 100_000,
        },
      );
      expect(r.truncated).toBe(true);
      expect(r.rowCount).toBe(9);
      expect((await runSandboxed(reader, 'SELECT 1 AS one', [])).rows).toEqual([[1]]);
    });

    it('a database that accepts the login and never answers a query settles as upstream_timeout', async () => {
      const silent = await startSilentPostgres(true);
      const c = new pg.Client({ host: '127.0.0.1', port: silent.port, user: 'x', database: 'x' });
      c.on('error', () => {});
      try {
        await c.connect();
        const started = performance.now();
        await expect(
          execute(c, 'SELECT 1', [], { ...DEFAULT_LIMITS, timeoutMs: 200, clientTimeoutMs: 300 }, verdict),
        ).rejects.toMatchObject({ code: 'upstream_timeout' });
        expect(performance.now() - started).toBeLessThan(2_000);
      } finally {
        await silent.close();
      }
    });

    it('a silent database cannot hold runSandboxed in the catalog check: it settles at the client deadline', async () => {
      // The catalog check (catalog-check.ts) is a round trip before the query: it must run under the same deadline,
      // or a database that never answers holds the call (and an agent's queue) until TCP gives up.
      const silent = await startSilentPostgres(true);
      const c = new pg.Client({ host: '127.0.0.1', port: silent.port, user: 'x', database: 'x' });
      c.on('error', () => {});
      try {
        await c.connect();
        const started = performance.now();
        const call = runSandboxed(c, 'SELECT t.name FROM t', [], {
          ...DEFAULT_LIMITS,
          timeoutMs: 200,
          clientTimeoutMs: 300,
        });
        const settled = await Promise.race([
          call.then(
            () => 'resolved',
            (e: { code?: string }) => e.code ?? 'error',
          ),
          new Promise((r) => setTimeout(() => r('still pending'), 3_000)),
        ]);
        expect(settled).toBe('upstream_timeout');
        expect(performance.now() - started).toBeLessThan(2_000);
      } finally {
        await silent.close();
      }
    });
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
