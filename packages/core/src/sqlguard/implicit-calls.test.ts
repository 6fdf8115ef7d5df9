/**
 * Implicit function calls against the guard alone (review finding: the SELECT-only sandbox was bypassed by
 * attribute notation, since it looked only at FuncCall nodes). The same corpus runs on real PostgreSQL, with the
 * catalog check and a role that has the dangerous functions granted, in
 * packages/server/test/dbaccess-implicit-calls.test.ts.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_FORMS, DANGEROUS_FUNCTIONS, OTHER_IMPLICIT_CALLS } from './implicit-corpus.js';
import { checkSelect, loadSqlGuard } from './index.js';

beforeAll(() => loadSqlGuard());

const refused = (sql: string) => {
  const v = checkSelect(sql);
  expect(v.ok, sql).toBe(false);
  return v.ok ? '' : v.reason;
};

describe('SELECT guard: attribute notation and other implicit calls', () => {
  it('attribute notation x.pg_sleep is refused', () => {
    expect(refused('SELECT x.pg_sleep FROM generate_series(10,10) x')).toMatch(/pg_sleep.*sleeps/);
  });

  it('($1::text).current_setting reading a secret setting is refused', () => {
    expect(refused('SELECT ($1::text).current_setting')).toMatch(/current_setting/);
  });

  it('x.pg_terminate_backend over pg_stat_activity pids is refused', () => {
    expect(refused('SELECT x.pg_terminate_backend FROM (SELECT pid FROM pg_stat_activity) x')).toMatch(
      /pg_terminate_backend/,
    );
  });

  it('x.pg_advisory_lock (held on the agent long-lived connection) is refused', () => {
    expect(refused('SELECT x.pg_advisory_lock FROM generate_series(42,42) x')).toMatch(/advisory/);
  });

  it.each([
    ['x.pg_read_file', "SELECT x.pg_read_file FROM (SELECT '/etc/passwd'::text AS p) x"],
    ['x.pg_ls_dir', "SELECT x.pg_ls_dir FROM (VALUES ('.')) x"],
    ['x.lo_import', "SELECT x.lo_import FROM (VALUES ('/etc/passwd')) x"],
    ['x.txid_current', 'SELECT x.txid_current FROM generate_series(1,1) x'],
  ])('attribute notation %s is refused', (_n, sql) => {
    refused(sql);
  });

  it('every attribute-notation form over every dangerous function is refused (corpus)', () => {
    for (const f of DANGEROUS_FUNCTIONS)
      for (const form of ATTRIBUTE_FORMS) refused(form.replaceAll('{f}', f));
  });

  it('property: any form, any dangerous name, any spelling of the qualifier, anywhere in a query', () => {
    const wrap = fc.constantFrom(
      (q: string) => q,
      (q: string) => `SELECT * FROM (${q}) AS outer_q`,
      (q: string) => `WITH w AS (${q}) SELECT * FROM w`,
      (q: string) => `SELECT 1 WHERE EXISTS (${q})`,
      (q: string) => `SELECT 1 UNION ALL (${q})`,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...ATTRIBUTE_FORMS),
        fc.constantFrom(...DANGEROUS_FUNCTIONS),
        fc.boolean(),
        wrap,
        (form, f, upper, w) => {
          // Unquoted identifiers fold to lower case, so an upper-case spelling is the same function.
          const name = upper ? f.toUpperCase() : f;
          const sql = w(form.includes('"{f}"') ? form.replaceAll('{f}', f) : form.replaceAll('{f}', name));
          const v = checkSelect(sql);
          return !v.ok;
        },
      ),
      { numRuns: 400 },
    );
  });

  it.each(OTHER_IMPLICIT_CALLS.map(([t, sql]) => [t, sql] as const))('refuses %s', (_t, sql) => {
    refused(sql);
  });

  it('hands every field reference that is not an allowed function to the catalog check, with its proof', () => {
    const v = checkSelect(
      'SELECT c.name, (c.addr).city, s.text, w.n FROM customers c, (SELECT * FROM items) s, ' +
        '(WITH w(n) AS (SELECT 1) SELECT * FROM w) w',
    );
    if (!v.ok) throw new Error(v.reason);
    const byText = Object.fromEntries(v.catalog.attributes.map((a) => [a.text, a.proof]));
    expect(byText['c.name']).toEqual({
      names: [],
      tables: [{ schema: null, name: 'customers' }],
      fields: [],
    });
    expect(byText['(...).city']?.fields).toEqual([
      { table: { schema: null, name: 'customers' }, column: 'addr' },
    ]);
    expect(byText['s.text']?.tables).toEqual([{ schema: null, name: 'items' }]);
    expect(v.catalog.operators).toEqual(expect.arrayContaining(['=', '<']));
  });

  it('keeps legitimate column references: qualified, schema-qualified, composite fields, subqueries, CTEs', () => {
    for (const sql of [
      'SELECT t.name FROM t',
      'SELECT t.lower, t.count FROM t',
      'SELECT public.t.c FROM public.t',
      'SELECT (t.composite_col).field FROM t',
      'SELECT (ROW(1, 2)).f2',
      'SELECT s.name FROM (SELECT name FROM t) s',
      'WITH r AS (SELECT name::text FROM t) SELECT r.name FROM r',
      'SELECT a.id FROM a JOIN b ON b.a_id = a.id',
      "SELECT (e).key FROM jsonb_each('{}') e",
      'SELECT (t.c).* FROM t',
    ])
      expect(checkSelect(sql), sql).toMatchObject({ ok: true });
  });

  it('does not resolve a name that a JOIN USING alias or an unnamed FROM function could shadow', () => {
    for (const sql of [
      'SELECT 1 FROM customers j WHERE EXISTS (SELECT j.name FROM a JOIN b USING (id) AS j)',
      'SELECT 1 FROM customers x WHERE EXISTS (SELECT x.name FROM coalesce(1))',
    ]) {
      const v = checkSelect(sql);
      if (!v.ok) throw new Error(v.reason);
      const inner = v.catalog.attributes.find((a) => a.name === 'name');
      expect(inner?.proof, sql).toEqual({ names: [], tables: [], fields: [] });
    }
  });

  it('answers, without overflowing the stack, for thousands of nested joins', () => {
    const joins = Array.from({ length: 3_000 }, (_, i) => `JOIN t${i + 1} ON true`).join(' ');
    expect(checkSelect(`SELECT t0.name FROM t0 ${joins}`)).toEqual({
      ok: false,
      reason: 'the query is nested too deeply',
    });
  });

  it('does not resolve an alias that is defined more than once in the scope chain (no proof from it)', () => {
    // Outside, x can only be customers; inside, PostgreSQL would pick items, but the guard does not guess.
    const v = checkSelect('SELECT x.name FROM customers x WHERE EXISTS (SELECT x.name FROM items x)');
    if (!v.ok) throw new Error(v.reason);
    expect(v.catalog.attributes.map((a) => a.proof.tables)).toEqual(
      expect.arrayContaining([[{ schema: null, name: 'customers' }], []]),
    );
    expect(v.catalog.attributes.some((a) => a.proof.tables.some((t) => t.name === 'items'))).toBe(false);
  });
});
