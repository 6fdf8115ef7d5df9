import { checkSelect, loadSqlGuard } from '@rampart/core/sqlguard';
import type pg from 'pg';
import { AppError } from '../platform/errors.js';
import { checkCatalog } from './catalog-check.js';

export interface SandboxLimits {
  /** statement_timeout for the query, ms. */
  timeoutMs: number;
  /** Rows returned at most; more are cut and `truncated` is set. */
  maxRows: number;
  /** Approximate JSON size of the returned rows at most, bytes. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 5_000, maxRows: 1_000, maxBytes: 5 * 1024 * 1024 };

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
 * - the extended protocol (a parameter array is always passed), which refuses more than one statement;
 * - the statement wrapped as a subquery with `LIMIT maxRows + 1`, and a byte cap on the result;
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
  const verdict = checkSelect(sql);
  if (!verdict.ok) throw new AppError('query_not_allowed', `Query not allowed: ${verdict.reason}`);
  // Attribute notation, operators and casts that could call a function the parser cannot see: decided against
  // this database's catalog (catalog-check.ts).
  await checkCatalog(client, verdict.catalog);
  return execute(client, sql, params, limits, verdict);
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
): Promise<SandboxResult> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(
      `SELECT set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)`,
      [String(limits.timeoutMs), String(limits.timeoutMs * 2)],
    );
    // A trailing semicolon is part of one statement to the parser but not inside a subquery; the newline keeps
    // a trailing line comment from swallowing the closing parenthesis.
    const inner = sql.replace(/[\s;]+$/, '');
    const text = `SELECT * FROM (${inner}\n) AS rampart_q LIMIT ${Math.floor(limits.maxRows) + 1}`;
    const res = await client.query({ text, values: [...params], rowMode: 'array' });
    const truncatedRows = res.rows.length > limits.maxRows;
    let rows = res.rows.slice(0, limits.maxRows) as unknown[][];
    let bytes = 0;
    let truncated = truncatedRows;
    for (let i = 0; i < rows.length; i++) {
      bytes += JSON.stringify(rows[i]).length;
      if (bytes > limits.maxBytes) {
        rows = rows.slice(0, i);
        truncated = true;
        break;
      }
    }
    return {
      columns: res.fields.map((f) => f.name),
      rows,
      rowCount: rows.length,
      truncated,
      queryHash: verdict.queryHash,
      fingerprint: verdict.fingerprint,
    };
  } catch (err) {
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
    await client.query('ROLLBACK').catch(() => {});
  }
}
