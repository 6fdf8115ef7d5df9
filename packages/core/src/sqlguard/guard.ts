import { createHash } from 'node:crypto';
import { fingerprintSync, loadModule, normalizeSync, parseSync } from 'libpg-query';
import {
  ALLOWED_CAST_TYPES,
  ALLOWED_FUNCTIONS,
  IMPLICIT_OPERATORS,
  JSON_CONVERTING_FUNCTIONS,
  KNOWN_DANGEROUS,
  SECRET_RELATIONS,
} from './policy.js';
import {
  buildScope,
  type ColumnProof,
  columnProof,
  cteScope,
  ctesOf,
  NestedTooDeeply,
  type Rel,
  resolveQualifier,
  type Scope,
  unwrapSelect,
} from './scope.js';

/**
 * A name PostgreSQL may run as a function by attribute notation (`x.f`, `(expr).f` mean `f(x)` when `x` has no
 * column or field `f`), and what would prove it is a column instead. The guard refuses the ones it can decide
 * alone (a known dangerous function, a field of a value that is not a row); the server decides the rest against
 * the target's catalog before running the query.
 */
export interface AttributeRef {
  /** The field name as PostgreSQL will look it up (case preserved). */
  name: string;
  /** How the query spells it, for the refusal message. */
  text: string;
  proof: ColumnProof;
}

/**
 * What the guard could not decide from the query alone: the server resolves these against the target
 * database's own catalog in the same session before running it (packages/server/src/dbaccess/catalog-check.ts).
 */
export interface CatalogNeeds {
  /** Field references that are a function call unless proven to be columns. */
  attributes: AttributeRef[];
  /** Unqualified names of functions called (allow-listed): a same-named function outside pg_catalog could win. */
  functions: string[];
  /** Operator names used, plus the ones PostgreSQL applies implicitly (sorting, grouping, IN, CASE). */
  operators: string[];
  /** Type names cast to, quoted and qualified as written: each must resolve to a pg_catalog type. */
  types: string[];
}

export type GuardVerdict =
  | {
      ok: true;
      /** The parser's fingerprint: the same query with other constants has the same one. */
      fingerprint: string;
      /** SHA-256 (hex) of the normalised query (constants replaced by $n). */
      queryHash: string;
      /** What must still be checked against the target's catalog before the query runs. */
      catalog: CatalogNeeds;
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

function dangerOf(name: string): string | null {
  const lower = name.toLowerCase();
  for (const [pattern, why] of KNOWN_DANGEROUS) if (pattern.test(lower)) return why;
  return null;
}

interface Ctx {
  scope: Scope | null;
  needs: {
    attributes: AttributeRef[];
    functions: Set<string>;
    operators: Set<string>;
    types: Set<string>;
  };
}

const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** The built-in json type as a cast target: its casts from other types are checked against the catalog. */
const JSON_TARGET = '"pg_catalog"."json"';

/**
 * SQL/JSON syntax the guard's parser (PostgreSQL 18's grammar) reads as special expressions, which a target
 * before PostgreSQL 16 (17 for JSON_QUERY, JSON_VALUE, JSON_EXISTS) parses as ordinary calls of functions of
 * these names: the catalog check refuses a non-built-in one there, like a shadowing allow-listed name.
 */
const SQL_JSON_CALLS: Readonly<Record<string, string>> = {
  JsonScalarExpr: 'json_scalar',
  JsonSerializeExpr: 'json_serialize',
  JsonParseExpr: 'json',
  JsonArrayConstructor: 'json_array',
  JsonArrayQueryConstructor: 'json_array',
  JsonObjectConstructor: 'json_object',
  JsonArrayAgg: 'json_arrayagg',
  JsonObjectAgg: 'json_objectagg',
  JSON_VALUE_OP: 'json_value',
  JSON_QUERY_OP: 'json_query',
  JSON_EXISTS_OP: 'json_exists',
};

/** A call (or SQL/JSON expression) that converts values to json runs their type's cast to json, if any. */
function convertsToJson(name: string, ctx: Ctx): void {
  if (JSON_CONVERTING_FUNCTIONS.has(name)) ctx.needs.types.add(JSON_TARGET);
}

function checkFunction(funcname: unknown, ctx: Ctx): void {
  const exact = names(funcname);
  const parts = exact.map((p) => p.toLowerCase());
  const name = parts.at(-1) ?? '';
  // The schema as written: a quoted "PG_CATALOG" is another schema, which a customer could create.
  if (parts.length > 2 || (parts.length === 2 && exact[0] !== 'pg_catalog'))
    refuse(`function ${parts.join('.')} is not allowed (only built-in functions may be called)`);
  const why = dangerOf(name);
  if (why) refuse(`function ${name} is not allowed: it ${why}`);
  // PostgreSQL looks the name up as written (a quoted "LOWER" is another function than lower).
  const asWritten = exact.at(-1) ?? '';
  if (!ALLOWED_FUNCTIONS.has(asWritten)) refuse(`function ${name} is not on the allow-list`);
  if (parts.length === 1) ctx.needs.functions.add(asWritten);
  convertsToJson(asWritten, ctx);
}

function checkCast(typeName: unknown, ctx: Ctx): void {
  if (!isObject(typeName)) return;
  const exact = names(typeName.names);
  const parts = exact.map((p) => p.toLowerCase());
  const name = parts.at(-1) ?? '';
  if (parts.length > 2 || (parts.length === 2 && exact[0] !== 'pg_catalog'))
    refuse(`cast to ${parts.join('.')} is not allowed`);
  if (!ALLOWED_CAST_TYPES.has(name))
    refuse(`cast to ${name} is not allowed (a cast runs the type's input function)`);
  // `double precision` and friends come out of the parser as pg_catalog.float8; a plain `text` is looked up
  // through search_path, where a domain or type of the same name elsewhere must not win.
  ctx.needs.types.add(exact.map(quoteIdent).join('.'));
}

function checkOperator(name: unknown, ctx: Ctx): void {
  const parts = names(name);
  if (parts.length === 0) return;
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog'))
    refuse(`operator ${parts.join('.')} is not allowed (only built-in operators may be used)`);
  ctx.needs.operators.add(parts.at(-1) ?? '');
}

/**
 * A field name that PostgreSQL runs as `name(of)` unless `of` has a column or field `name`: refused here when
 * it names a known dangerous function, otherwise handed to the catalog check with what would prove a column.
 */
function attribute(name: string, of: Rel, text: string, ctx: Ctx): void {
  if (ALLOWED_FUNCTIONS.has(name)) {
    ctx.needs.functions.add(name);
    convertsToJson(name, ctx);
    return;
  }
  const why = dangerOf(name);
  if (why) refuse(`${text} is not allowed: attribute notation calls the function ${name}, which ${why}`);
  ctx.needs.attributes.push({ name, text, proof: columnProof(of) });
}

/** Expressions whose value is never a row, so `(expr).f` on them can only be the function call `f(expr)`. */
const NOT_A_ROW = new Set([
  'A_Const',
  'ParamRef',
  'TypeCast',
  'A_Expr',
  'BoolExpr',
  'NullTest',
  'BooleanTest',
  'A_ArrayExpr',
  'SQLValueFunction',
  'CollateClause',
]);

function checkColumnRef(ref: Node, ctx: Ctx): void {
  const fields = Array.isArray(ref.fields) ? ref.fields : [];
  if (fields.length < 2) return; // a bare name is a column or a whole row, never a call
  const last = fields.at(-1);
  if (!isObject(last) || !isObject(last.String)) return; // x.* is a whole row
  const qualifier = names(fields.slice(0, -1));
  const name = String(last.String.sval ?? '');
  attribute(name, resolveQualifier(qualifier, ctx.scope), [...qualifier, name].join('.'), ctx);
}

function checkIndirection(ind: Node, ctx: Ctx): void {
  const arg = isObject(ind.arg) ? ind.arg : {};
  const kind = Object.keys(arg)[0] ?? '';
  const list = Array.isArray(ind.indirection) ? ind.indirection : [];
  let of: Rel = { kind: 'opaque' };
  if (kind === 'ColumnRef') {
    const fields = Array.isArray((arg.ColumnRef as Node).fields)
      ? ((arg.ColumnRef as Node).fields as unknown[])
      : [];
    const column = names(fields.slice(-1))[0];
    // (t.col).f: a field of the composite column col; a bare (col).f could be any table's column: opaque.
    if (fields.length >= 2 && column)
      of = { kind: 'field', of: resolveQualifier(names(fields.slice(0, -1)), ctx.scope), column };
  }
  list.forEach((item, i) => {
    if (!isObject(item) || !isObject(item.String)) return; // subscripts and (x).* call nothing
    const name = String(item.String.sval ?? '');
    const text = `(...).${name}`;
    if (i === 0 && kind === 'RowExpr') {
      // An anonymous ROW(...) has fields f1..fn; any other name is a function call on the record.
      const n = Array.isArray((arg.RowExpr as Node).args)
        ? ((arg.RowExpr as Node).args as unknown[]).length
        : 0;
      const m = /^f([1-9][0-9]*)$/.exec(name);
      if (m && Number(m[1]) <= n) return;
      if (!ALLOWED_FUNCTIONS.has(name))
        refuse(`${text} on ROW(...) is not allowed: it calls the function ${name}`);
    }
    if (i === 0 && NOT_A_ROW.has(kind) && !ALLOWED_FUNCTIONS.has(name))
      refuse(`${text} is not allowed: on a value that is not a row, it calls the function ${name}`);
    attribute(name, i === 0 ? of : { kind: 'opaque' }, text, ctx);
  });
}

/** One query level: its scope (CTEs and FROM items) applies to everything in it; each CTE has its own. */
function walkSelect(select: Node, depth: number, ctx: Ctx): void {
  const scope = buildScope(select, ctx.scope);
  for (const [key, value] of Object.entries(select)) {
    if (key === 'withClause') {
      for (const cte of ctesOf(select))
        walk(cte, depth + 1, { ...ctx, scope: cteScope(scope, String(cte.ctename ?? '')) });
      continue;
    }
    visit(key, value, depth, { ...ctx, scope });
  }
}

/** Visits every node of the tree; refuses anything that is not part of a plain, side-effect-free SELECT. */
function walk(node: unknown, depth: number, ctx: Ctx): void {
  if (depth > MAX_DEPTH) refuse('the query is nested too deeply');
  if (Array.isArray(node)) {
    for (const n of node) walk(n, depth + 1, ctx);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) visit(key, value, depth, ctx);
}

function visit(key: string, value: unknown, depth: number, ctx: Ctx): void {
  if (key.endsWith('Stmt') && key !== 'SelectStmt')
    refuse(`${key.replace(/Stmt$/, '')} statements are not allowed`);
  // SQL/JSON syntax (JSON_OBJECT(...), JSON_ARRAYAGG, JSON_SCALAR, IS JSON...) converts like to_json.
  if (/^Json[A-Z]/.test(key)) {
    ctx.needs.types.add(JSON_TARGET);
    const op = isObject(value) && typeof value.op === 'string' ? value.op : '';
    const called = SQL_JSON_CALLS[key === 'JsonFuncExpr' ? op : key];
    if (called) ctx.needs.functions.add(called);
  }
  // Before PostgreSQL 17, merge_action() is a call of any function of that name.
  if (key === 'MergeSupportFunc') refuse('merge_action() is not allowed outside MERGE');
  switch (key) {
    case 'SelectStmt': {
      const s = value as Node;
      if (s.intoClause) refuse('SELECT ... INTO writes a table');
      if (Array.isArray(s.lockingClause) && s.lockingClause.length)
        refuse('locking clauses (FOR UPDATE/SHARE) are not allowed');
      if (isObject(s)) {
        if (depth + 1 > MAX_DEPTH) refuse('the query is nested too deeply');
        walkSelect(s, depth + 1, ctx);
        return;
      }
      break;
    }
    case 'larg':
    case 'rarg': {
      // The arms of a set operation are selects without the SelectStmt wrapper (a JoinExpr's arms are wrapped).
      const s = unwrapSelect(value);
      if (s && !isObject((value as Node).SelectStmt)) {
        if (s.intoClause) refuse('SELECT ... INTO writes a table');
        if (Array.isArray(s.lockingClause) && s.lockingClause.length)
          refuse('locking clauses (FOR UPDATE/SHARE) are not allowed');
        if (depth + 1 > MAX_DEPTH) refuse('the query is nested too deeply');
        walkSelect(s, depth + 1, ctx);
        return;
      }
      break;
    }
    case 'FuncCall':
      checkFunction((value as Node).funcname, ctx);
      break;
    case 'typeName':
      // Wherever a type is named (CAST, ::, typed literals such as int4 '1', column definition lists,
      // RETURNING of SQL/JSON functions) a value is converted to it, running its input or cast function.
      if (isObject(value) && Array.isArray(value.names)) checkCast(value, ctx);
      break;
    case 'ColumnRef':
      if (isObject(value)) checkColumnRef(value, ctx);
      break;
    case 'A_Indirection':
      if (isObject(value)) checkIndirection(value, ctx);
      break;
    case 'A_Expr':
      // BETWEEN's name is a keyword, not an operator: it applies >= and <=, which are always checked.
      if (isObject(value) && !String(value.kind).includes('BETWEEN')) checkOperator(value.name, ctx);
      break;
    case 'SubLink':
      if (isObject(value)) checkOperator(value.operName, ctx);
      break;
    case 'SortBy':
      if (isObject(value)) checkOperator(value.useOp, ctx);
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
      const secret = SECRET_RELATIONS.get(String(r.relname ?? ''));
      if (secret) refuse(`the relation ${String(r.relname)} is not allowed: it ${secret}`);
      break;
    }
  }
  walk(value, depth + 1, ctx);
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
  const ctx: Ctx = {
    scope: null,
    needs: { attributes: [], functions: new Set(), operators: new Set(IMPLICIT_OPERATORS), types: new Set() },
  };
  try {
    walk(stmt, 0, ctx);
  } catch (err) {
    if (err instanceof Refused || err instanceof NestedTooDeeply) return { ok: false, reason: err.message };
    throw err;
  }
  const normalized = normalizeSync(sql);
  return {
    ok: true,
    fingerprint: fingerprintSync(sql),
    queryHash: createHash('sha256').update(normalized).digest('hex'),
    catalog: {
      attributes: ctx.needs.attributes,
      functions: [...ctx.needs.functions],
      operators: [...ctx.needs.operators],
      types: [...ctx.needs.types],
    },
  };
}
