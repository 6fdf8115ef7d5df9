/**
 * Implicit function calls: SQL that runs a function without a function-call node in the parse tree. PostgreSQL
 * reads `x.f` and `(expr).f` as `f(x)` when `x` has no column or field `f` (attribute notation); operators,
 * casts, typed literals and domains run functions too. Shared by the guard's corpus test (the parser alone) and
 * the real-PostgreSQL test (guard, catalog check and execution, as a role with these functions granted).
 */

/**
 * Side-effecting or secret-reading built-in functions that take one argument, or that have one-argument
 * forms; each is reachable by attribute notation when the guard looks only at function-call nodes.
 */
export const DANGEROUS_FUNCTIONS: readonly string[] = [
  'pg_sleep',
  'current_setting',
  'set_config',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_advisory_lock',
  'pg_advisory_xact_lock',
  'pg_try_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_advisory_unlock_all',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
  'lo_unlink',
  'lo_create',
  'txid_current',
  'pg_current_xact_id',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_log_backend_memory_contexts',
  'pg_stat_reset_shared',
  'pg_replication_origin_create',
  'dblink_connect',
  'dblink_exec',
  'nextval',
  'setval',
  'currval',
  'pg_notify',
  'query_to_xml',
  'pg_sleep_for',
];

/**
 * Templates where `{f}` is a function name, over the table `customers (id int, email text, spend numeric)` and
 * built-in relations: every one runs `{f}` by attribute notation when `{f}` is not a column there.
 */
export const ATTRIBUTE_FORMS: readonly string[] = [
  'SELECT x.{f} FROM generate_series(10, 10) x',
  'SELECT x.{f} FROM generate_series(10, 10) AS x',
  'SELECT x."{f}" FROM generate_series(10, 10) x',
  'SELECT x.{f} FROM (SELECT pid FROM pg_stat_activity) x',
  'SELECT x.{f} FROM pg_stat_activity x',
  'SELECT (p.pid).{f} FROM pg_stat_activity p',
  'SELECT x.{f} FROM pg_stat_activity p, unnest(ARRAY[p.pid]) x',
  'SELECT c.{f} FROM customers c',
  'SELECT customers.{f} FROM customers',
  'SELECT public.customers.{f} FROM customers',
  'SELECT public.customers.{f} FROM public.customers',
  'SELECT ($1::text).{f}',
  "SELECT ('app.settings.jwt_secret'::text).{f}",
  "SELECT (text 'app.settings.jwt_secret').{f}",
  'SELECT ($1).{f}',
  'SELECT (1).{f}',
  "SELECT ('/etc/passwd').{f}",
  'SELECT (1 + 1).{f}',
  'SELECT (ROW(1)).{f}',
  'SELECT (ROW(1, 2)).{f}',
  'SELECT (c.email).{f} FROM customers c',
  'SELECT (c.id).{f} FROM customers c',
  'SELECT (x).{f} FROM generate_series(1, 1) x',
  'SELECT (x.x).{f} FROM generate_series(1, 1) x',
  'SELECT ((SELECT 1)).{f}',
  'SELECT (ARRAY[1])[1].{f}',
  'SELECT s.{f} FROM (SELECT 1 AS a) s',
  'SELECT s.{f} FROM (SELECT * FROM customers) s',
  'WITH w AS (SELECT pid FROM pg_stat_activity) SELECT w.{f} FROM w',
  'WITH w(n) AS (SELECT 1) SELECT w.{f} FROM w',
  'SELECT 1 FROM customers c WHERE c.{f} IS NOT NULL',
  'SELECT count(*) FROM customers c GROUP BY c.{f}',
  'SELECT 1 FROM customers c ORDER BY c.{f}',
  'SELECT 1 FROM customers c HAVING count(c.{f}) > 0',
  'SELECT (SELECT y.{f} FROM generate_series(1, 1) y)',
  'SELECT * FROM customers c WHERE EXISTS (SELECT c.{f})',
  'SELECT * FROM customers c, LATERAL (SELECT c.{f}) l',
  'SELECT * FROM customers a JOIN customers b ON a.{f} IS NULL',
  'SELECT 1 UNION SELECT x.{f} FROM generate_series(1, 1) x',
  'SELECT CASE WHEN true THEN x.{f} END FROM generate_series(1, 1) x',
  'SELECT coalesce(x.{f}, null) FROM generate_series(1, 1) x',
  'SELECT count(*) FILTER (WHERE x.{f} IS NULL) FROM generate_series(1, 1) x',
  'SELECT row_number() OVER (ORDER BY x.{f}) FROM generate_series(1, 1) x',
  'VALUES ((SELECT x.{f} FROM generate_series(1, 1) x))',
  'SELECT * FROM customers c JOIN customers d USING (id) WHERE c.{f} IS NULL',
];

/** Other implicit calls: operators, casts, typed literals and domains outside the built-in set. */
export const OTHER_IMPLICIT_CALLS: ReadonlyArray<readonly [technique: string, sql: string]> = [
  ['operator qualified with another schema', 'SELECT 1 OPERATOR(public.+) 1'],
  ['operator qualified with a catalog and schema', 'SELECT 1 OPERATOR(db.public.+) 1'],
  ['qualified operator in ANY', 'SELECT 1 OPERATOR(public.=) ANY (SELECT 1)'],
  ['qualified operator in ORDER BY USING', 'SELECT id FROM customers ORDER BY id USING OPERATOR(public.<)'],
  ['cast to a user type', "SELECT 'x'::public.checked"],
  ['typed literal of a user type', "SELECT public.checked 'x'"],
  ['typed literal of an unqualified user type', "SELECT checked 'x'"],
  ['cast to regprocedure', "SELECT 'pg_sleep(float8)'::regprocedure"],
  ['typed literal of regclass', "SELECT regclass 'customers'"],
  ['cast to a composite type', 'SELECT ROW(1)::customers'],
  ['cast in a column definition list', 'SELECT * FROM generate_series(1, 1) AS g(n regclass)'],
  ['SQL/JSON RETURNING a user type', "SELECT JSON_VALUE('1', '$' RETURNING checked)"],
  ['SQL/JSON RETURNING regclass', "SELECT JSON_QUERY('1', '$' RETURNING regclass)"],
  ['quoted function name that differs in case', 'SELECT "LOWER"(email) FROM customers'],
  ['anonymous ROW field that is not fN', 'SELECT (ROW(1, 2)).f3'],
];
