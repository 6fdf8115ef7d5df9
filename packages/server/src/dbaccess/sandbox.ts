import { checkSelect, loadSqlGuard } from '@rampart/core/sqlguard';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { AppError } from '../platform/errors.js';
import { checkCatalog } from './catalog-check.js';

export interface SandboxLimits {
  /** statement_timeout for the query, ms. */
  timeoutMs: number;
  /** Rows returned at most; more are cut and `truncated` is set. */
  maxRows: number;
  /** Approximate JSON size of the returned rows at most, bytes. */
  maxBytes: number;
  /**
   * How long the client waits for the whole sandbox (BEGIN to ROLLBACK) before it destroys the connection and
   * answers `upstream_timeout`, ms: a database that never answers cannot hold a call open. Default: `timeoutMs`
   * plus one second.
   */
  clientTimeoutMs?: number;
}

/**
 * The statement as it is placed inside the wrapper, and as the guard checks it: trailing semicolons and the
 * whitespace PostgreSQL's scanner knows (space, tab, newline, carriage return, form feed) removed. Never a
 * wider class such as JavaScript's `\s`: a no-break space or any other Unicode space is a character of an
 * identifier to PostgreSQL, so trimming it would run another name than the one the guard checked
 * (`x.f\u00a0` is a field named "f\u00a0", `x.f` is the call f(x)).
 */
export function statementBody(sql: string): string {
  return sql.replace(/[ \t\n\r\f;]+$/, '');
}

const inUse = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `fn` once every earlier call given the same client has settled. The sandbox is a sequence of statements
 * (catalog check, BEGIN READ ONLY, settings, the statement, ROLLBACK) on one connection; two calls sharing a
 * connection (the agent keeps one) would interleave them, and the second one's statement could run after the
 * first one's ROLLBACK: outside any transaction, writable, without statement_timeout and with the database's
 * own standard_conforming_strings.
 */
export function exclusively<T>(client: object, fn: () => Promise<T>): Promise<T> {
  const run = (inUse.get(client) ?? Promise.resolve()).then(fn, fn);
  inUse.set(
    client,
    run.catch(() => {}),
  );
  return run;
}

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 5_000, maxRows: 1_000, maxBytes: 5 * 1024 * 1024 };

/** Rows asked of the portal per Execute message (the extended protocol's row limit). */
const BATCH_ROWS = 100;
/** Wire bytes allowed per JSON byte of the cap before the connection is cut (a number is 4 + digits on the wire). */
const WIRE_FACTOR = 4;
const WIRE_SLACK = 1024 * 1024;

export interface SandboxResult {
  columns: string[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  queryHash: string;
  fingerprint: string;
}

/**
 * Runs one statement the guard accepted, with every layer of defence the guard does not rely on:
 * - `BEGIN READ ONLY`, `statement_timeout` and `idle_in_transaction_session_timeout` set locally;
 * - `standard_conforming_strings=on` and `backslash_quote=off` set locally and read back (the guard parses string
 *   literals the way PostgreSQL does with these settings; a server that reports otherwise is refused);
 * - the statement sent through a cursor, so ALWAYS the extended protocol (Parse/Bind/Execute), parameters or
 *   not: PostgreSQL refuses more than one statement in a Parse message;
 * - the statement wrapped as a subquery with `LIMIT maxRows + 1`; rows are read in batches (portal row limits)
 *   and reading stops at `maxRows` or `maxBytes`, so a huge result is never held whole; a single row too big
 *   for the byte cap is cut on the wire (the connection is closed);
 * - a client-side deadline that closes the connection if the database does not answer;
 * - always ROLLBACK, never COMMIT (a `set_config` made inside even a read-only transaction would survive one).
 * Connect as a role with SELECT grants only (never a superuser or BYPASSRLS role): docs/DBACCESS.md.
 * @throws AppError query_not_allowed (with the guard's reason) | upstream_timeout | bad_gateway
 */
export async function runSandboxed(
  client: pg.ClientBase,
  sql: string,
  params: readonly unknown[],
  limits: SandboxLimits = DEFAULT_LIMITS,
): Promise<SandboxResult> {
  await loadSqlGuard();
  // The guard checks exactly the text that runs.
  const body = statementBody(sql);
  const verdict = checkSelect(body);
  if (!verdict.ok) throw new AppError('query_not_allowed', `Query not allowed: ${verdict.reason}`);
  // Attribute notation, operators and casts that could call a function the parser cannot see: decided against
  // this database's catalog (catalog-check.ts). One sandboxed call at a time per connection.
  // It runs inside the sandbox transaction, after the settings: under statement_timeout and the client deadline,
  // so a database that never answers cannot hold the call there either.
  return exclusively(client, () =>
    execute(client, body, params, limits, verdict, () => checkCatalog(client, verdict.catalog)),
  );
}

/**
 * The execution layer alone, for tests that prove it holds even when handed a statement the guard would
 * refuse. Production code calls {@link runSandboxed}.
 */
export async function execute(
  client: pg.ClientBase,
  sql: string,
  params: readonly unknown[],
  limits: SandboxLimits,
  verdict: { queryHash: string; fingerprint: string },
  /** Checks that must pass before the statement runs (the catalog check), inside the transaction and deadline. */
  preflight?: () => Promise<void>,
): Promise<SandboxResult> {
  const stream = (client as Partial<pg.Client>).connection?.stream;
  // Why the connection was cut, if it was: after a cut the client is unusable and the caller must replace it.
  let cut: 'timeout' | 'bytes' | null = null;
  let abort: (e: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    abort = reject;
  });
  aborted.catch(() => {});
  const kill = (why: 'timeout' | 'bytes') => {
    if (cut) return;
    cut = why;
    client.on('error', () => {}); // the destroyed socket is reported as an error event on the client
    stream?.destroy();
    abort(new Error(`sandbox ${why}`));
  };
  /** Every round trip races the deadline, so the call settles even if the socket never reports its end. */
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, aborted]);
  const clientTimeoutMs = limits.clientTimeoutMs ?? limits.timeoutMs + 1_000;
  const deadline = setTimeout(() => kill('timeout'), clientTimeoutMs);
  const wireCap = limits.maxBytes * WIRE_FACTOR + WIRE_SLACK;
  let wire = 0;
  let counting = false;
  const onData = (chunk: Buffer) => {
    if (!counting) return;
    wire += chunk.length;
    if (wire > wireCap) kill('bytes');
  };
  stream?.on('data', onData);
  let columns: string[] = [];
  const rows: unknown[][] = [];
  let truncated = false;
  const result = (): SandboxResult => ({
    columns,
    rows,
    rowCount: rows.length,
    truncated,
    queryHash: verdict.queryHash,
    fingerprint: verdict.fingerprint,
  });
  try {
    await step(client.query('BEGIN READ ONLY'));
    // set_config returns the value now in force: what the server reports is checked before the query runs.
    const settings = await step(
      client.query<{ scs: string; bq: string }>(
        `SELECT set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true),
                set_config('standard_conforming_strings', 'on', true) AS scs,
                set_config('backslash_quote', 'off', true) AS bq`,
        [String(limits.timeoutMs), String(limits.timeoutMs * 2)],
      ),
    );
    const { scs, bq } = settings.rows[0] ?? { scs: '', bq: '' };
    if (scs !== 'on' || bq !== 'off')
      throw new AppError(
        'bad_gateway',
        `The database did not accept standard_conforming_strings=on and backslash_quote=off (it reports ${scs} and ${bq}); the query was not run`,
      );
    if (preflight) await step(preflight());
    // A trailing semicolon is part of one statement to the parser but not inside a subquery; the newline keeps
    // a trailing line comment from swallowing the closing parenthesis.
    const inner = statementBody(sql);
    const text = `SELECT * FROM (${inner}\n) AS rampart_q LIMIT ${Math.floor(limits.maxRows) + 1}`;
    counting = true;
    const cursor = client.query(new Cursor<unknown[]>(text, [...params], { rowMode: 'array' }));
    let bytes = 0;
    for (;;) {
      const want = Math.min(BATCH_ROWS, Math.floor(limits.maxRows) + 1 - rows.length);
      const batch = await step(
        new Promise<{ got: unknown[][]; fields: string[] }>((resolve, reject) =>
          cursor.read(want, (err, got, res) =>
            err ? reject(err) : resolve({ got, fields: (res?.fields ?? []).map((f) => f.name) }),
          ),
        ),
      );
      if (batch.fields.length) columns = batch.fields;
      for (const row of batch.got) {
        const size = JSON.stringify(row).length;
        if (rows.length >= limits.maxRows || bytes + size > limits.maxBytes) {
          truncated = true;
          break;
        }
        bytes += size;
        rows.push(row);
      }
      if (truncated || batch.got.length < want) break;
    }
    counting = false;
    await step(cursor.close());
    return result();
  } catch (err) {
    if (cut === 'bytes') {
      // One row larger than what the byte cap had left: the rows before it are the answer.
      truncated = true;
      return result();
    }
    if (cut === 'timeout')
      throw new AppError('upstream_timeout', `The database did not answer within ${clientTimeoutMs} ms`);
    if (err instanceof AppError) throw err;
    const code = (err as { code?: string }).code;
    if (code === '57014')
      throw new AppError('upstream_timeout', `The query ran longer than ${limits.timeoutMs} ms`);
    // The database's own message (column or table not found, permission denied) helps the caller fix the query
    // and carries no row data.
    throw new AppError(
      'query_not_allowed',
      `The database refused the query: ${String((err as Error).message).slice(0, 300)}`,
    );
  } finally {
    counting = false;
    if (!cut) await step(client.query('ROLLBACK')).catch(() => {});
    clearTimeout(deadline);
    stream?.off('data', onData);
  }
}
