import { createHash } from 'node:crypto';
import { fingerprintSync, loadModule, normalizeSync, parseSync } from 'libpg-query';
import { ALLOWED_CAST_TYPES, ALLOWED_FUNCTIONS, KNOWN_DANGEROUS } from './policy.js';

export type GuardVerdict =
  | {
      ok: true;
      /** The parser's fingerprint: the same query with other constants has the same one. */
      fingerprint: string;
      /** SHA-256 (hex) of the normalised query (constants replaced by $n). */
      queryHash: string;
    }
  | { ok: false; reason: string };

const MAX_SQL_CHARS = 100_000;
const MAX_DEPTH = 200;

let ready: Promise<void> | null = null;
/** Loads the parser (WebAssembly) once; call before {@link checkSelect}. */
export function loadSqlGuard(): Promise<void> {
  ready ??= loadModule();
  return ready;
}

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((n) => (isObject(n) && isObject(n.String) ? String(n.String.sval ?? '') : ''));
}

class Refused extends Error {}
const refuse = (reason: string): never => {
  throw new Refused(reason);
};

function checkFunction(funcname: unknown): void {
  const parts = names(funcname).map((p) => p.toLowerCase());
  const name = parts.at(-1) ?? '';
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog'))
    refuse(`function ${parts.join('.')} is not allowed (only built-in functions may be called)`);
  for (const [pattern, why] of KNOWN_DANGEROUS) {
    if (pattern.test(name)) refuse(`function ${name} is not allowed: it ${why}`);
  }
  if (!ALLOWED_FUNCTIONS.has(name)) refuse(`function ${name} is not on the allow-list`);
}

function checkCast(typeName: unknown): void {
  if (!isObject(typeName)) return;
  const parts = names(typeName.names).map((p) => p.toLowerCase());
  const name = parts.at(-1) ?? '';
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog'))
    refuse(`cast to ${parts.join('.')} is not allowed`);
  if (!ALLOWED_CAST_TYPES.has(name))
    refuse(`cast to ${name} is not allowed (a cast runs the type's input function)`);
}

/** Visits every node of the tree; refuses anything that is not part of a plain, side-effect-free SELECT. */
function walk(node: unknown, depth: number): void {
  if (depth > MAX_DEPTH) refuse('the query is nested too deeply');
  if (Array.isArray(node)) {
    for (const n of node) walk(n, depth + 1);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key.endsWith('Stmt') && key !== 'SelectStmt')
      refuse(`${key.replace(/Stmt$/, '')} statements are not allowed`);
    switch (key) {
      case 'SelectStmt': {
        const s = value as Node;
        if (s.intoClause) refuse('SELECT ... INTO writes a table');
        if (Array.isArray(s.lockingClause) && s.lockingClause.length)
          refuse('locking clauses (FOR UPDATE/SHARE) are not allowed');
        break;
      }
      case 'FuncCall':
        checkFunction((value as Node).funcname);
        break;
      case 'TypeCast':
        checkCast((value as Node).typeName);
        break;
      case 'RangeTableFunc':
      case 'JsonTable':
        refuse('table functions (XMLTABLE, JSON_TABLE) are not allowed');
        break;
      case 'XmlExpr':
      case 'XmlSerialize':
        refuse('XML expressions are not allowed');
        break;
      case 'RangeTableSample':
        refuse('TABLESAMPLE is not allowed');
        break;
      case 'RangeVar': {
        const r = value as Node;
        if (String(r.relpersistence ?? 'p') === 't') refuse('temporary relations are not allowed');
        break;
      }
    }
    walk(value, depth + 1);
  }
}

/**
 * Decides whether `sql` may run in the read-only sandbox: exactly one statement, a plain SELECT (set
 * operations, VALUES, TABLE and read-only CTEs included), with no data-modifying CTE, no `SELECT ... INTO`, no
 * locking clause, no statement of any other kind anywhere in the tree, no function outside the allow-list
 * (wherever it appears: select list, FROM as a RangeFunction, WHERE, ORDER BY, defaults of casts...) and no
 * cast to a type outside the allow-list. Uses PostgreSQL's own parser (libpg-query), never a regex.
 * Call {@link loadSqlGuard} once first.
 */
export function checkSelect(sql: string): GuardVerdict {
  if (typeof sql !== 'string' || sql.length === 0) return { ok: false, reason: 'the query is empty' };
  if (sql.length > MAX_SQL_CHARS)
    return { ok: false, reason: `the query is longer than ${MAX_SQL_CHARS} characters` };
  if (sql.includes('\u0000')) return { ok: false, reason: 'the query contains a NUL character' };
  let tree: { stmts?: Array<{ stmt?: Node }> };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch (err) {
    return { ok: false, reason: `the query does not parse: ${(err as Error).message.slice(0, 200)}` };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) return { ok: false, reason: 'exactly one statement is allowed' };
  const stmt = stmts[0]?.stmt;
  if (!isObject(stmt) || !('SelectStmt' in stmt)) {
    const kind = isObject(stmt) ? (Object.keys(stmt)[0] ?? 'unknown').replace(/Stmt$/, '') : 'unknown';
    return { ok: false, reason: `only SELECT is allowed, not ${kind}` };
  }
  try {
    walk(stmt, 0);
  } catch (err) {
    if (err instanceof Refused) return { ok: false, reason: err.message };
    throw err;
  }
  const normalized = normalizeSync(sql);
  return {
    ok: true,
    fingerprint: fingerprintSync(sql),
    queryHash: createHash('sha256').update(normalized).digest('hex'),
  };
}
