/**
 * Review finding (issue 19, 1): the SELECT-only sandbox was bypassed by attribute notation (`x.pg_sleep`,
 * `($1::text).current_setting`) and other implicit calls. On real PostgreSQL, as a role that HAS the dangerous
 * functions granted (pg_read_server_files, pg_signal_backend, EXECUTE on the file, large-object and server
 * functions, a secret custom setting), with a customer function, operator, domain and casts of its own:
 * - the forms are live: handed to the execution layer alone they read the secret, take advisory locks that
 *   outlive the transaction, kill another session and call the customer's function;
 * - through runSandboxed (guard + catalog check, what the cloud route, MCP and the agent run) every form over
 *   every dangerous function is refused and none of them runs;
 * - real columns named like functions, composite fields, subqueries, CTEs and extension operators still work.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_FORMS,
  DANGEROUS_FUNCTIONS,
  OTHER_IMPLICIT_CALLS,
} from '../../core/src/sqlguard/implicit-corpus.js';
import { DEFAULT_LIMITS, execute, runSandboxed } from '../src/dbaccess/sandbox.js';
import { AppError } from '../src/platform/errors.js';
import { createReaderDatabase, type ReaderDatabase } from './dbaccess-support.js';

const BASE = process.env.TEST_DATABASE_URL;
const SECRET = `jwt-secret-${Math.random().toString(36).slice(2)}`;
const verdict = { queryHash: 'x'.repeat(64), fingerprint: 'f' };
const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 1_000 };

/** Granted to the reader in the throwaway database (where they exist in this PostgreSQL version). */
const GRANTED = [
  'pg_read_file(text)',
  'pg_read_binary_file(text)',
  'pg_ls_dir(text)',
  'pg_stat_file(text)',
  'lo_import(text)',
  'lo_export(oid, text)',
  'pg_reload_conf()',
  'pg_rotate_logfile()',
  'pg_create_restore_point(text)',
  'pg_log_backend_memory_contexts(integer)',
  'pg_stat_reset_shared(text)',
];

describe.skipIf(!BASE)('implicit function calls on real PostgreSQL (a role with dangerous grants)', () => {
  let customer: ReaderDatabase;
  let admin: pg.Client;
  let role: string;
  /** The reader, connected after the grants and the secret setting. */
  let reader: pg.Client;
  let readerPid: number;

  const connectReader = async (applicationName: string) => {
    const c = new pg.Client({ connectionString: customer.readerUrl, application_name: applicationName });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const advisoryLocks = async (pid: number) =>
    (
      await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = $1",
        [pid],
      )
    ).rows[0]?.n;
  const refusal = (sql: string, params: unknown[] = []) =>
    runSandboxed(reader, sql, params, LIMITS).then(
      (r) => ({ ok: true as const, rows: r.rows }),
      (e: unknown) => ({ ok: false as const, err: e }),
    );

  beforeAll(async () => {
    customer = await createReaderDatabase(BASE as string);
    admin = customer.admin;
    role = decodeURIComponent(new URL(customer.readerUrl).username);
    const db = (await admin.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d as string;
    await admin.query(`GRANT pg_read_server_files, pg_signal_backend TO ${role}`);
    for (const fn of GRANTED) {
      const exists = await admin.query('SELECT to_regprocedure($1) IS NOT NULL AS ok', [fn]);
      if (exists.rows[0]?.ok) await admin.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${role}`);
    }
    await admin.query(`ALTER ROLE ${role} IN DATABASE ${db} SET app.settings.jwt_secret = '${SECRET}'`);
    for (const ext of ['dblink', 'citext'])
      await admin.query(`CREATE EXTENSION IF NOT EXISTS ${ext}`).catch(() => {});
    // The customer's own objects: a composite type, a table whose columns are named like functions (and like the
    // customer's function), and a volatile function that takes an advisory lock when called.
    await admin.query(`
      CREATE TYPE address AS (city text, name text);
      CREATE TABLE items (id int PRIMARY KEY, name text, text text, lower text, date date, touch int,
                          setseed int, addr address, tag citext);
      INSERT INTO items VALUES (1, 'widget', 'some text', 'low', '2024-01-02', 7, 8, ROW('Paris', 'home'), 'Red');
      GRANT SELECT ON items TO ${role};
      CREATE FUNCTION public.touch(c customers) RETURNS int LANGUAGE sql VOLATILE
        AS $$ SELECT 1 FROM (SELECT pg_advisory_lock(777)) s $$;
      CREATE FUNCTION public.touch(n integer) RETURNS int LANGUAGE sql VOLATILE
        AS $$ SELECT 1 FROM (SELECT pg_advisory_lock(777)) s $$;
    `);
    reader = await connectReader('rampart-reader');
    readerPid = (await reader.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
      ?.pid as number;
  });
  afterAll(async () => {
    await reader?.end().catch(() => {});
    await customer?.close();
  });

  describe('the forms are live: the execution layer alone runs them for this role', () => {
    it('($1::text).current_setting returns the secret setting', async () => {
      const r = await execute(
        reader,
        'SELECT ($1::text).current_setting',
        ['app.settings.jwt_secret'],
        LIMITS,
        verdict,
      );
      expect(r.rows).toEqual([[SECRET]]);
    });

    it('x.pg_advisory_lock takes a lock that outlives the ROLLBACK', async () => {
      await execute(
        reader,
        'SELECT x.pg_advisory_lock FROM generate_series(4242, 4242) x',
        [],
        LIMITS,
        verdict,
      );
      expect(await advisoryLocks(readerPid)).toBe(1);
      await reader.query('SELECT pg_advisory_unlock_all()');
      expect(await advisoryLocks(readerPid)).toBe(0);
    });

    it('x.pg_terminate_backend over pg_stat_activity pids kills another session', async () => {
      const victim = await connectReader('rampart-victim-live');
      const sql = `SELECT (p.pid).pg_terminate_backend FROM pg_stat_activity p WHERE application_name = 'rampart-victim-live'`;
      const r = await execute(reader, sql, [], LIMITS, verdict);
      expect(r.rows).toEqual([[true]]);
      await expect(victim.query('SELECT 1')).rejects.toThrow();
      await victim.end().catch(() => {});
    });

    it("c.touch calls the customer's function", async () => {
      await execute(reader, 'SELECT c.touch FROM customers c WHERE c.id = 1', [], LIMITS, verdict);
      expect(await advisoryLocks(readerPid)).toBe(1);
      await reader.query('SELECT pg_advisory_unlock_all()');
    });
  });

  it('attribute notation x.pg_sleep is refused before it sleeps', async () => {
    const started = performance.now();
    const r = await refusal('SELECT x.pg_sleep FROM generate_series(10,10) x');
    expect(r.ok).toBe(false);
    expect((r as { err: AppError }).err).toMatchObject({ code: 'query_not_allowed' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('($1::text).current_setting with params ["app.settings.jwt_secret"] is refused and returns no secret', async () => {
    const r = await refusal('SELECT ($1::text).current_setting', ['app.settings.jwt_secret']);
    expect(r.ok).toBe(false);
    expect((r as { err: AppError }).err).toMatchObject({ code: 'query_not_allowed' });
    expect(String((r as { err: AppError }).err.message)).not.toContain(SECRET);
  });

  it('x.pg_terminate_backend over pg_stat_activity pids is refused and the other session lives', async () => {
    const victim = await connectReader('rampart-victim');
    try {
      for (const sql of [
        "SELECT (p.pid).pg_terminate_backend FROM pg_stat_activity p WHERE application_name = 'rampart-victim'",
        "SELECT x.pg_terminate_backend FROM pg_stat_activity p, unnest(ARRAY[p.pid]) x WHERE application_name = 'rampart-victim'",
      ])
        expect((await refusal(sql)).ok, sql).toBe(false);
      expect((await victim.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await victim.end();
    }
  });

  it('a trailing no-break space (ORDER BY x.pg_terminate_backend\\u00a0) is refused and the other session lives', async () => {
    // The guard read a field named "pg_terminate_backend\u00a0" (a no-break space is an identifier character to
    // PostgreSQL), the executor trimmed it with JavaScript's \s and ran the call pg_terminate_backend(x).
    const victim = await connectReader('rampart-victim-nbsp');
    try {
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const r = await refusal(
        'SELECT 1 AS one FROM unnest(ARRAY[$1::int]) AS x ORDER BY x.pg_terminate_backend\u00a0',
        [pid],
      );
      expect(r.ok).toBe(false);
      expect((await victim.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await victim.end().catch(() => {});
    }
  });

  it('every Unicode space PostgreSQL reads as part of a name, trailing a call by attribute notation, is refused and nothing runs', async () => {
    // JavaScript's \s beyond PostgreSQL's scanner whitespace (and \v, whitespace to the guard's newer parser).
    const spaces = [
      '\u000b',
      '\u00a0',
      '\u1680',
      ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
      '\u2028',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u3000',
      '\ufeff',
    ];
    for (const c of spaces)
      for (const sql of [
        `SELECT 1 AS one FROM unnest(ARRAY[4242]) AS x ORDER BY x.touch${c}`,
        `SELECT count(*) AS n FROM unnest(ARRAY[4242]) AS x GROUP BY x.touch${c};`,
        `SELECT 1 AS one FROM unnest(ARRAY[$1]) AS x ORDER BY x.current_setting${c}`,
      ]) {
        const r = await refusal(sql, sql.includes('$1') ? ['app.settings.jwt_secret'] : []);
        expect(r.ok, JSON.stringify(sql)).toBe(false);
        expect(await advisoryLocks(readerPid), JSON.stringify(sql)).toBe(0);
      }
  });

  it('pg_db_role_setting (and pg_roles, pg_settings) reading the ALTER ROLE ... SET secret is refused', async () => {
    // Live: no function call at all, PUBLIC may read pg_db_role_setting.
    const live = await execute(
      reader,
      'SELECT unnest(setconfig) FROM pg_db_role_setting',
      [],
      LIMITS,
      verdict,
    );
    expect(JSON.stringify(live.rows)).toContain(SECRET);
    for (const sql of [
      'SELECT setconfig FROM pg_db_role_setting',
      'SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s',
      'WITH s AS (SELECT * FROM pg_db_role_setting) SELECT setconfig::text FROM s',
      'SELECT rolconfig FROM pg_roles',
      'SELECT useconfig FROM pg_user',
      'SELECT name, setting FROM pg_settings',
      'SELECT umoptions FROM pg_user_mappings',
      'SELECT query FROM pg_stat_activity',
    ]) {
      const r = await refusal(sql);
      expect(r.ok, sql).toBe(false);
      expect((r as { err: AppError }).err.code, sql).toBe('query_not_allowed');
      expect((r as { err: AppError }).err.message, sql).not.toContain(SECRET);
    }
  });

  it('x.pg_advisory_lock is refused and no lock is held on the long-lived connection', async () => {
    expect((await refusal('SELECT x.pg_advisory_lock FROM generate_series(4242, 4242) x')).ok).toBe(false);
    expect(await advisoryLocks(readerPid)).toBe(0);
  });

  it("c.touch (a customer's function, found only in the target's catalog) is refused", async () => {
    const r = await refusal('SELECT c.touch FROM customers c');
    expect(r.ok).toBe(false);
    expect(String((r as { err: AppError }).err.message)).toMatch(/c\.touch.*function touch/);
    expect(await advisoryLocks(readerPid)).toBe(0);
  });

  it('every attribute-notation form over every dangerous function (and the customer function) is refused, and none runs', async () => {
    const lo = async () =>
      (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0]?.n;
    const loBefore = await lo();
    const victim = await connectReader('rampart-victim-corpus');
    const started = performance.now();
    let n = 0;
    try {
      // touch and setseed are not known to the guard: only the catalog check can refuse them.
      for (const f of [...DANGEROUS_FUNCTIONS, 'touch', 'setseed']) {
        for (const form of ATTRIBUTE_FORMS) {
          const sql = form.replaceAll('{f}', f);
          const r = await refusal(sql, sql.includes('$1') ? ['app.settings.jwt_secret'] : []);
          expect(r.ok, sql).toBe(false);
          const err = (r as { err: unknown }).err;
          expect(err, sql).toBeInstanceOf(AppError);
          expect((err as AppError).code, `${sql}: ${(err as AppError).message}`).toBe('query_not_allowed');
          expect((err as AppError).message).not.toContain(SECRET);
          n++;
        }
      }
      for (const [technique, sql] of OTHER_IMPLICIT_CALLS) {
        const r = await refusal(sql);
        expect(r.ok, technique).toBe(false);
        expect((r as { err: AppError }).err.code, technique).toBe('query_not_allowed');
        n++;
      }
      expect(await advisoryLocks(readerPid)).toBe(0);
      expect((await victim.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(await lo()).toBe(loBefore);
      const seq = await admin.query<{ is_called: boolean }>('SELECT is_called FROM counter');
      expect(seq.rows[0]?.is_called).toBe(false);
      // 10-second sleeps were in there: none of them ran.
      expect(performance.now() - started).toBeLessThan(n * 50 + 5_000);
    } finally {
      await victim.end();
    }
    expect(n).toBeGreaterThan(1_500);
  });

  it('real columns named like functions, composite fields, subqueries and CTEs still work', async () => {
    const cases: Array<[string, unknown[][]]> = [
      [
        'SELECT i.name, i.text, i.lower, i.touch, i.setseed, (i.addr).city, (i.addr).name FROM items i',
        [['widget', 'some text', 'low', 7, 8, 'Paris', 'home']],
      ],
      ['SELECT public.items.name FROM items', [['widget']]],
      ['SELECT items.touch FROM public.items', [[7]]],
      ['SELECT s.name, s.touch FROM (SELECT * FROM items) s', [['widget', 7]]],
      ['WITH w AS (SELECT name, touch::text FROM items) SELECT w.name, w.touch FROM w', [['widget', '7']]],
      ['SELECT x.x FROM generate_series(1, 2) x', [[1], [2]]],
      ['SELECT lower(c.email) FROM customers c WHERE c.id = $1', [['c3@example.com']]],
      ["SELECT i.tag FROM items i WHERE i.tag = 'red'", [['Red']]],
      ['SELECT (ROW(1, 2)).f2', [[2]]],
      ["SELECT 'x'::text, int4 '4', CAST('1' AS double precision)", [['x', 4, 1]]],
    ];
    for (const [sql, rows] of cases) {
      const r = await runSandboxed(reader, sql, sql.includes('$1') ? [3] : [], LIMITS);
      expect(r.rows, sql).toEqual(rows);
    }
    expect(await advisoryLocks(readerPid)).toBe(0);
  });

  it('a name in a schema the reader may not use is a 400 refusal from the check, not a gateway error', async () => {
    await admin.query('CREATE SCHEMA hidden; CREATE TABLE hidden.t (name text)');
    try {
      const r = await refusal('SELECT hidden.t.name FROM hidden.t');
      expect(r.ok).toBe(false);
      expect((r as { err: AppError }).err).toMatchObject({ code: 'query_not_allowed' });
      expect((r as { err: AppError }).err.message).toMatch(/permission denied|not a column/);
    } finally {
      await admin.query('DROP SCHEMA hidden CASCADE');
    }
  });

  describe("the target's own operators, casts, domains and functions", () => {
    const expectRefused = async (sql: string, reason: RegExp) => {
      const r = await refusal(sql);
      expect(r.ok, sql).toBe(false);
      expect((r as { err: AppError }).err.code, sql).toBe('query_not_allowed');
      expect((r as { err: AppError }).err.message, sql).toMatch(reason);
      expect(await advisoryLocks(readerPid)).toBe(0);
    };

    it('a user operator backed by a volatile function is refused (written or implicit)', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_eq(a customers, b int) RETURNS boolean LANGUAGE sql VOLATILE
          AS $$ SELECT true FROM (SELECT pg_advisory_lock(778)) s $$;
        CREATE OPERATOR public.=== (LEFTARG = customers, RIGHTARG = int, FUNCTION = public.noisy_eq)`);
      try {
        await expectRefused('SELECT c === 1 FROM customers c', /operator === .*not built in/);
        await expectRefused('SELECT c OPERATOR(public.===) 1 FROM customers c', /operator public\.===/);
      } finally {
        await admin.query('DROP OPERATOR public.=== (customers, int); DROP FUNCTION public.noisy_eq');
      }
    });

    it("the customer's operator over a built-in volatile function (### x is pg_try_advisory_lock(x)) is refused", async () => {
      await admin.query(
        'CREATE OPERATOR public.### (RIGHTARG = bigint, FUNCTION = pg_catalog.pg_try_advisory_lock)',
      );
      try {
        const live = await execute(reader, 'SELECT ### 4242::bigint AS got', [], LIMITS, verdict);
        expect(live.rows).toEqual([[true]]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        await expectRefused('SELECT ### 4242::bigint AS got', /operator ### .*pg_try_advisory_lock/);
      } finally {
        await admin.query('DROP OPERATOR public.### (NONE, bigint)');
      }
    });

    it('a user = operator (implicit in IN, CASE, ORDER BY) with a volatile function is refused', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_eq2(a customers, b customers) RETURNS boolean LANGUAGE sql VOLATILE
          AS $$ SELECT true FROM (SELECT pg_advisory_lock(779)) s $$;
        CREATE OPERATOR public.= (LEFTARG = customers, RIGHTARG = customers, FUNCTION = public.noisy_eq2)`);
      try {
        await expectRefused('SELECT 1 FROM customers a, customers b WHERE a IN (b)', /operator = /);
      } finally {
        await admin.query('DROP OPERATOR public.= (customers, customers); DROP FUNCTION public.noisy_eq2');
      }
    });

    it('a cast to a built-in type name that resolves elsewhere (a domain through search_path) is refused', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_check(v text) RETURNS boolean LANGUAGE sql VOLATILE
          AS $$ SELECT true FROM (SELECT pg_advisory_lock(780)) s $$;
        CREATE DOMAIN public.uuid AS text CHECK (public.noisy_check(VALUE));
        CREATE DOMAIN public."TEXT" AS text CHECK (public.noisy_check(VALUE))`);
      try {
        await expectRefused(`SELECT 'x'::"TEXT"`, /not a built-in type/);
        await reader.query('SET search_path = public, pg_catalog');
        await expectRefused(`SELECT 'x'::uuid`, /not a built-in type/);
        await expectRefused(`SELECT uuid 'x'`, /not a built-in type/);
      } finally {
        await reader.query('RESET search_path');
        await admin.query(
          'DROP DOMAIN public.uuid; DROP DOMAIN public."TEXT"; DROP FUNCTION public.noisy_check',
        );
      }
    });

    it('a cast through a volatile user function is refused, and an implicit one refuses every query', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_cast(c customers) RETURNS bigint LANGUAGE sql VOLATILE
          AS $$ SELECT 1::bigint FROM (SELECT pg_advisory_lock(781)) s $$;
        CREATE CAST (customers AS bigint) WITH FUNCTION public.noisy_cast(customers)`);
      try {
        await expectRefused('SELECT c::bigint FROM customers c', /cast from customers to bigint/);
        await admin.query(`DROP CAST (customers AS bigint);
          CREATE CAST (customers AS bigint) WITH FUNCTION public.noisy_cast(customers) AS IMPLICIT`);
        await expectRefused('SELECT 1 AS one', /cast from customers to bigint/);
      } finally {
        await admin.query('DROP CAST IF EXISTS (customers AS bigint); DROP FUNCTION public.noisy_cast');
      }
    });

    it('an assignment cast through a volatile function (WHERE c coerces to boolean, a subscript to int) refuses every query', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_bool(c customers) RETURNS boolean LANGUAGE sql VOLATILE
          AS $$ SELECT true FROM (SELECT pg_advisory_lock(787)) s $$;
        CREATE CAST (customers AS boolean) WITH FUNCTION public.noisy_bool(customers) AS ASSIGNMENT`);
      try {
        // Live: no cast in the text, WHERE coerces the row to boolean by the assignment cast.
        const live = await execute(
          reader,
          'SELECT c.id FROM customers c WHERE c AND c.id = 1',
          [],
          LIMITS,
          verdict,
        );
        expect(live.rows).toEqual([[1]]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        await expectRefused(
          'SELECT c.id FROM customers c WHERE c AND c.id = 1',
          /cast from customers to boolean/,
        );
        await expectRefused('SELECT count(*) FROM customers c WHERE CASE WHEN c THEN true END', /to boolean/);
        await expectRefused('SELECT 1 AS one', /cast from customers to boolean/);
      } finally {
        await admin.query('DROP CAST (customers AS boolean); DROP FUNCTION public.noisy_bool');
      }
    });

    it("a range type's volatile subtype_diff, run by the planner's selectivity estimate for r && $1, refuses every query", async () => {
      // subtype_diff must be immutable when the range type is created, and can be made volatile afterwards.
      await admin.query(`
        CREATE FUNCTION public.fdiff(a float8, b float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT a - b $$;
        CREATE TYPE public.frange AS RANGE (subtype = float8, subtype_diff = public.fdiff);
        CREATE OR REPLACE FUNCTION public.fdiff(a float8, b float8) RETURNS float8 LANGUAGE plpgsql VOLATILE
          AS $$ BEGIN PERFORM pg_advisory_lock(788); RETURN a - b; END $$;
        CREATE TABLE public.ranges (r public.frange);
        INSERT INTO public.ranges SELECT public.frange(g, g + 10) FROM generate_series(1, 2000) g;
        ANALYZE public.ranges;
        SELECT pg_advisory_unlock_all(); -- ANALYZE ran the function too, in this session
        GRANT SELECT ON public.ranges TO ${role}`);
      try {
        const live = await execute(
          reader,
          'SELECT count(*) FROM ranges WHERE r && $1',
          ['[5,50)'],
          LIMITS,
          verdict,
        );
        expect(live.rows).toEqual([['49']]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        const r = await refusal('SELECT count(*) FROM ranges WHERE r && $1', ['[5,50)']);
        expect(r.ok).toBe(false);
        expect((r as { err: AppError }).err.message).toMatch(/range type frange/);
        expect(await advisoryLocks(readerPid)).toBe(0);
      } finally {
        await admin.query('DROP TABLE public.ranges; DROP TYPE public.frange; DROP FUNCTION public.fdiff');
      }
    });

    it("SQL/JSON syntax (json_scalar(x), json_value(x, p), merge_action()) that PostgreSQL 15 calls as the customer's functions is refused", async () => {
      await admin.query(`
        CREATE FUNCTION public.json_scalar(v anyelement) RETURNS json LANGUAGE sql VOLATILE
          AS $$ SELECT to_json(v) FROM (SELECT pg_advisory_lock(789)) s $$;
        CREATE FUNCTION public.json_value(v text, p text) RETURNS text LANGUAGE sql VOLATILE
          AS $$ SELECT v FROM (SELECT pg_advisory_lock(789)) s $$;
        CREATE FUNCTION public.merge_action() RETURNS text LANGUAGE sql VOLATILE
          AS $$ SELECT 'x' FROM (SELECT pg_advisory_lock(789)) s $$`);
      const version = Number(
        (await admin.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v,
      );
      try {
        if (version < 160000) {
          // Live: the guard's parser reads special SQL/JSON expressions, PostgreSQL 15 plain calls.
          const live = await execute(reader, 'SELECT json_scalar(1)', [], LIMITS, verdict);
          expect(live.rows).toEqual([[1]]);
          expect(await advisoryLocks(readerPid)).toBe(1);
          await reader.query('SELECT pg_advisory_unlock_all()');
        }
        const forms: Array<[string, unknown[]]> = [
          ['SELECT json_scalar(1)', []],
          ['SELECT json_value($1::text, $2::text)', ['{}', '$']],
          ['SELECT merge_action()', []],
        ];
        for (const [sql, params] of forms) {
          const r = await refusal(sql, params);
          expect(r.ok, sql).toBe(false);
          expect((r as { err: AppError }).err.code, sql).toBe('query_not_allowed');
          expect(await advisoryLocks(readerPid), sql).toBe(0);
        }
      } finally {
        await admin.query(
          'DROP FUNCTION public.json_scalar(anyelement); DROP FUNCTION public.json_value(text, text); DROP FUNCTION public.merge_action()',
        );
      }
    });

    it("to_json(t) over an enum with the customer's volatile cast to json (no cast written) is refused", async () => {
      await admin.query(`
        CREATE TYPE public.mood AS ENUM ('sad', 'ok');
        CREATE FUNCTION public.mood_json(m public.mood) RETURNS json LANGUAGE sql VOLATILE
          AS $$ SELECT to_json(m::text) FROM (SELECT pg_advisory_lock(786)) s $$;
        CREATE CAST (public.mood AS json) WITH FUNCTION public.mood_json(public.mood);
        CREATE TABLE public.moods (id int, m public.mood);
        INSERT INTO public.moods VALUES (1, 'ok');
        GRANT SELECT ON public.moods TO ${role}`);
      try {
        // Live: to_json looks up the type's cast to json and runs it.
        const live = await execute(reader, 'SELECT to_json(t) FROM moods t', [], LIMITS, verdict);
        expect(live.rows).toEqual([[{ id: 1, m: 'ok' }]]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        for (const sql of [
          'SELECT to_json(t) FROM moods t',
          'SELECT to_jsonb(m) FROM moods',
          'SELECT json_agg(t) FROM moods t',
          "SELECT jsonb_build_object('m', m) FROM moods",
          'SELECT pg_catalog.json_build_array(m) FROM moods',
          'SELECT t.to_json FROM moods t',
        ])
          await expectRefused(sql, /cast from mood to json/);
      } finally {
        await admin.query(
          'DROP TABLE public.moods; DROP CAST (public.mood AS json); DROP FUNCTION public.mood_json; DROP TYPE public.mood',
        );
      }
      expect(
        (await runSandboxed(reader, 'SELECT to_json(c.id) FROM customers c WHERE c.id = 1', [], LIMITS)).rows,
      ).toEqual([[1]]);
    });

    it('attribute notation naming a domain (x.checked_int converts and runs the CHECK) is refused', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_int(v int) RETURNS boolean LANGUAGE sql VOLATILE
          AS $$ SELECT true FROM (SELECT pg_advisory_lock(783)) s $$;
        CREATE DOMAIN public.checked_int AS int CHECK (public.noisy_int(VALUE))`);
      try {
        const live = await execute(
          reader,
          'SELECT x.checked_int FROM generate_series(5, 5) x',
          [],
          LIMITS,
          verdict,
        );
        expect(live.rows).toEqual([[5]]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        await expectRefused('SELECT x.checked_int FROM generate_series(5, 5) x', /checked_int/);
        await expectRefused('SELECT (c.id).checked_int FROM customers c', /checked_int/);
      } finally {
        await admin.query('DROP DOMAIN public.checked_int; DROP FUNCTION public.noisy_int');
      }
    });

    it('an allow-listed name that a type outside pg_catalog bears is refused (a call becomes a conversion)', async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_text(v text) RETURNS boolean LANGUAGE sql VOLATILE
          AS $$ SELECT true FROM (SELECT pg_advisory_lock(784)) s $$;
        CREATE DOMAIN public.initcap AS text CHECK (public.noisy_text(VALUE))`);
      try {
        // Live: with no exact match for initcap(varchar), PostgreSQL converts to the domain and runs its CHECK.
        const live = await execute(reader, "SELECT initcap('x'::varchar)", [], LIMITS, verdict);
        expect(live.rows).toEqual([['x']]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        await expectRefused("SELECT initcap('x'::varchar)", /type public\.initcap/);
      } finally {
        await admin.query('DROP DOMAIN public.initcap; DROP FUNCTION public.noisy_text');
      }
    });

    it("an allow-listed aggregate name borne by the customer's aggregate with a volatile state function is refused", async () => {
      await admin.query(`
        CREATE FUNCTION public.noisy_sfunc(s int, c customers) RETURNS int LANGUAGE sql VOLATILE
          AS $$ SELECT 1 FROM (SELECT pg_advisory_lock(785)) x $$;
        CREATE AGGREGATE public.sum(customers) (sfunc = public.noisy_sfunc, stype = int)`);
      try {
        const live = await execute(reader, 'SELECT sum(c) FROM customers c', [], LIMITS, verdict);
        expect(live.rows).toEqual([[1]]);
        expect(await advisoryLocks(readerPid)).toBe(1);
        await reader.query('SELECT pg_advisory_unlock_all()');
        await expectRefused('SELECT sum(c) FROM customers c', /public\.sum\(customers\)/);
      } finally {
        await admin.query('DROP AGGREGATE public.sum(customers); DROP FUNCTION public.noisy_sfunc');
      }
    });

    it('an allow-listed name that a volatile function outside pg_catalog also bears is refused', async () => {
      await admin.query(`CREATE FUNCTION public.lower(c customers) RETURNS text LANGUAGE sql VOLATILE
          AS $$ SELECT 'x' FROM (SELECT pg_advisory_lock(782)) s $$`);
      try {
        await expectRefused('SELECT lower(c) FROM customers c', /public\.lower/);
        await expectRefused('SELECT c.lower FROM customers c', /public\.lower/);
      } finally {
        await admin.query('DROP FUNCTION public.lower(customers)');
      }
      expect(
        (await runSandboxed(reader, 'SELECT lower(email) FROM customers WHERE id = 1', [], LIMITS)).rows,
      ).toEqual([['c1@example.com']]);
    });
  });
});
