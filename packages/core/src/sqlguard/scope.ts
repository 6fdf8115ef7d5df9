/**
 * Which relation a qualified name (`x` in `x.f`) refers to, worked out from the query alone, so that the guard
 * can tell the server what would prove that `f` is a column rather than a function PostgreSQL calls by
 * attribute notation (`x.f` means `f(x)` when `x` has no column `f`).
 *
 * The model over-approximates PostgreSQL's name visibility: every FROM item of the current query level and of
 * every enclosing level counts, whether or not PostgreSQL would let the reference see it (LATERAL, JOIN ... ON,
 * names hidden behind a join alias). A qualifier is resolved only when exactly one item in that whole chain
 * carries its name: PostgreSQL then either resolves it to the same item or fails, so a proof built from it is
 * never about a different relation. Anything else (a repeated name, a function in FROM, an expression) is
 * opaque, and proves nothing.
 */

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (n: unknown): string | null =>
  isObject(n) && isObject(n.String) ? String(n.String.sval ?? '') : null;
const strings = (list: unknown): string[] =>
  Array.isArray(list) ? list.map(str).filter((s): s is string => s !== null) : [];

export interface TableName {
  schema: string | null;
  name: string;
}

/** A relation as the guard sees it, before any catalog lookup. */
export type Rel =
  | { kind: 'table'; table: TableName }
  | { kind: 'select'; select: Node; scope: Scope; colnames: string[] }
  | { kind: 'names'; names: string[] }
  | { kind: 'join'; parts: Rel[] }
  | { kind: 'field'; of: Rel; column: string }
  | { kind: 'opaque' };

interface Cte {
  query: Node | null;
  colnames: string[];
  /** The scope the CTE's own query is resolved in (earlier siblings only, unless WITH RECURSIVE). */
  scope: Scope;
  busy: boolean;
}

export interface Scope {
  parent: Scope | null;
  items: Map<string, Rel[]>;
  ctes: Map<string, Cte>;
  /** A FROM item whose reference name the guard cannot tell (`FROM coalesce(...)`): resolve nothing here. */
  unknownNames?: boolean;
}

/**
 * What proves that an attribute name is a column: it is one of `names`, or a column of one of `tables`
 * (pg_attribute), or a field of the composite type of one of the `fields` columns.
 */
export interface ColumnProof {
  names: string[];
  tables: TableName[];
  fields: Array<{ table: TableName; column: string }>;
}

const OPAQUE: Rel = { kind: 'opaque' };
const MAX_JOIN_DEPTH = 200;

/** Thrown when a FROM clause nests joins deeper than the guard follows: the query is refused. */
export class NestedTooDeeply extends Error {}
const MAX_PROOF_STEPS = 5_000;
const MAX_PROOF_DEPTH = 40;

/** The select inside a `{SelectStmt: ...}` wrapper, or the unwrapped select itself (set-operation arms). */
export function unwrapSelect(n: unknown): Node | null {
  if (!isObject(n)) return null;
  if (isObject(n.SelectStmt)) return n.SelectStmt;
  return 'op' in n ? n : null;
}

/** The CTE definitions of a select's WITH clause, in order. */
export function ctesOf(select: Node): Node[] {
  const w = select.withClause;
  if (!isObject(w) || !Array.isArray(w.ctes)) return [];
  return w.ctes.map((c) => (isObject(c) && isObject(c.CommonTableExpr) ? c.CommonTableExpr : {}));
}

/** The scope of one query level: its CTEs and FROM items, over `parent` (the enclosing level). */
export function buildScope(select: Node, parent: Scope | null): Scope {
  const scope: Scope = { parent, items: new Map(), ctes: new Map() };
  const w = select.withClause;
  const recursive = isObject(w) && w.recursive === true;
  for (const cte of ctesOf(select)) {
    scope.ctes.set(String(cte.ctename ?? ''), {
      query: unwrapSelect(cte.ctequery),
      colnames: strings(cte.aliascolnames),
      scope: { parent, items: new Map(), ctes: new Map() },
      busy: false,
    });
  }
  // A CTE sees its earlier siblings, or all of them under WITH RECURSIVE (and enclosing levels' CTEs through
  // `parent`), never the FROM items of the query it belongs to.
  const all = [...scope.ctes.entries()];
  all.forEach(([, cte], i) => {
    for (const [name, other] of recursive ? all : all.slice(0, i)) cte.scope.ctes.set(name, other);
  });
  for (const item of Array.isArray(select.fromClause) ? select.fromClause : []) addFromItem(item, scope, 0);
  return scope;
}

/** The scope a CTE's query is resolved in. */
export function cteScope(scope: Scope, name: string): Scope {
  return scope.ctes.get(name)?.scope ?? { parent: scope.parent, items: new Map(), ctes: new Map() };
}

function register(scope: Scope, name: string, rel: Rel): void {
  const list = scope.items.get(name) ?? [];
  list.push(rel);
  scope.items.set(name, list);
}

function aliasOf(n: Node): { name: string | null; colnames: string[] } {
  const a = n.alias;
  if (!isObject(a)) return { name: null, colnames: [] };
  return { name: String(a.aliasname ?? ''), colnames: strings(a.colnames) };
}

/** Registers one FROM item (and, over-approximating, everything inside a join) and returns its relation. */
function addFromItem(item: unknown, scope: Scope, depth: number): Rel {
  if (!isObject(item)) return OPAQUE;
  // Every name must be registered for the uniqueness rule to hold, so a tree too deep is refused, not cut.
  if (depth > MAX_JOIN_DEPTH) throw new NestedTooDeeply('the query is nested too deeply');
  if (isObject(item.RangeVar)) {
    const rv = item.RangeVar;
    const { name, colnames } = aliasOf(rv);
    const relname = String(rv.relname ?? '');
    let rel: Rel = relationNamed(rv, scope);
    if (colnames.length) rel = { kind: 'names', names: colnames };
    register(scope, name ?? relname, rel);
    return rel;
  }
  if (isObject(item.RangeSubselect)) {
    const rs = item.RangeSubselect;
    const { name, colnames } = aliasOf(rs);
    const select = unwrapSelect(rs.subquery);
    const rel: Rel = colnames.length
      ? { kind: 'names', names: colnames }
      : select
        ? { kind: 'select', select, scope, colnames: [] }
        : OPAQUE;
    if (name) register(scope, name, rel);
    return rel;
  }
  if (isObject(item.RangeFunction)) {
    const rf = item.RangeFunction;
    const { name, colnames } = aliasOf(rf);
    const coldefs = Array.isArray(rf.coldeflist)
      ? rf.coldeflist.map((c) =>
          isObject(c) && isObject(c.ColumnDef) ? String(c.ColumnDef.colname ?? '') : '',
        )
      : [];
    const rel: Rel =
      colnames.length || coldefs.length ? { kind: 'names', names: [...colnames, ...coldefs] } : OPAQUE;
    // Without an alias the function's own name is the reference name: register it so that it counts.
    const fn = Array.isArray(rf.functions) ? rf.functions[0] : undefined;
    const items = isObject(fn) && isObject(fn.List) && Array.isArray(fn.List.items) ? fn.List.items : [];
    const call = isObject(items[0]) && isObject(items[0].FuncCall) ? items[0].FuncCall : null;
    const refname = name ?? (call ? (strings(call.funcname).at(-1) ?? null) : null);
    if (refname) register(scope, refname, rel);
    else scope.unknownNames = true;
    return rel;
  }
  if (isObject(item.JoinExpr)) {
    const j = item.JoinExpr;
    const parts = [addFromItem(j.larg, scope, depth + 1), addFromItem(j.rarg, scope, depth + 1)];
    const { name, colnames } = aliasOf(j);
    const rel: Rel = colnames.length ? { kind: 'names', names: colnames } : { kind: 'join', parts };
    if (name) register(scope, name, rel);
    // JOIN ... USING (a) AS u names a relation of the USING columns only.
    const using = j.join_using_alias;
    if (isObject(using) && typeof using.aliasname === 'string') register(scope, using.aliasname, OPAQUE);
    return rel;
  }
  // RangeTableFunc, JsonTable, RangeTableSample are refused by the guard; count their names anyway.
  for (const v of Object.values(item)) {
    if (isObject(v)) {
      const { name } = aliasOf(v);
      if (name) register(scope, name, OPAQUE);
    }
  }
  return OPAQUE;
}

/** A FROM-clause relation name: a CTE when exactly one visible CTE has the name, else the table itself. */
function relationNamed(rv: Node, scope: Scope): Rel {
  const relname = String(rv.relname ?? '');
  const schema = typeof rv.schemaname === 'string' && rv.schemaname ? rv.schemaname : null;
  if (schema === null && !rv.catalogname) {
    const found: Cte[] = [];
    for (let s: Scope | null = scope; s; s = s.parent) {
      const c = s.ctes.get(relname);
      if (c) found.push(c);
    }
    if (found.length > 1) return OPAQUE;
    const cte = found[0];
    if (cte) {
      if (cte.colnames.length) return { kind: 'names', names: cte.colnames };
      return cte.query ? { kind: 'select', select: cte.query, scope: cte.scope, colnames: [] } : OPAQUE;
    }
  }
  return { kind: 'table', table: { schema, name: relname } };
}

/**
 * The relation a qualifier names: `x` (a FROM item, resolved only if its name is unique in the whole scope
 * chain), `s.t` or `c.s.t` (PostgreSQL matches an unaliased relation by its OID, so the table itself).
 */
export function resolveQualifier(qualifier: string[], scope: Scope | null): Rel {
  if (qualifier.length === 2 || qualifier.length === 3) {
    const [schema, name] = qualifier.slice(-2) as [string, string];
    return { kind: 'table', table: { schema, name } };
  }
  if (qualifier.length !== 1) return OPAQUE;
  const name = qualifier[0] as string;
  const found: Rel[] = [];
  for (let s: Scope | null = scope; s; s = s.parent) {
    if (s.unknownNames) return OPAQUE;
    found.push(...(s.items.get(name) ?? []));
  }
  return found.length === 1 ? (found[0] as Rel) : OPAQUE;
}

/** The name PostgreSQL gives an unnamed select-list entry, where the guard can be sure of it. */
function figureName(val: unknown): string | null {
  if (!isObject(val)) return null;
  if (isObject(val.ColumnRef)) {
    const f = val.ColumnRef.fields;
    return Array.isArray(f) ? str(f.at(-1)) : null;
  }
  if (isObject(val.TypeCast)) return figureName(val.TypeCast.arg);
  return null;
}

/** Flattens a relation into what would prove a name is one of its columns, within a work budget. */
export function columnProof(rel: Rel): ColumnProof {
  const proof: ColumnProof = { names: [], tables: [], fields: [] };
  let steps = 0;
  const visit = (r: Rel, depth: number): void => {
    if (++steps > MAX_PROOF_STEPS || depth > MAX_PROOF_DEPTH) return;
    switch (r.kind) {
      case 'table':
        proof.tables.push(r.table);
        return;
      case 'names':
        proof.names.push(...r.names);
        return;
      case 'join':
        for (const p of r.parts) visit(p, depth + 1);
        return;
      case 'field':
        if (r.of.kind === 'table') proof.fields.push({ table: r.of.table, column: r.column });
        return;
      case 'select': {
        if (r.colnames.length) {
          proof.names.push(...r.colnames);
          return;
        }
        let s: Node | null = r.select;
        // A set operation's columns are named by its leftmost arm.
        while (s && typeof s.op === 'string' && s.op !== 'SETOP_NONE') s = unwrapSelect(s.larg);
        if (!s || !Array.isArray(s.targetList)) return;
        const cte = findBusy(r);
        if (cte?.busy) return;
        if (cte) cte.busy = true;
        try {
          const inner = buildScope(s, r.scope);
          for (const t of s.targetList) {
            const rt = isObject(t) && isObject(t.ResTarget) ? t.ResTarget : null;
            if (!rt) continue;
            if (typeof rt.name === 'string' && rt.name) {
              proof.names.push(rt.name);
              continue;
            }
            const cr = isObject(rt.val) && isObject(rt.val.ColumnRef) ? rt.val.ColumnRef : null;
            const fields = cr && Array.isArray(cr.fields) ? cr.fields : [];
            const last = fields.at(-1);
            if (isObject(last) && 'A_Star' in last) {
              const q = strings(fields.slice(0, -1));
              if (q.length === 0) {
                for (const list of inner.items.values()) for (const item of list) visit(item, depth + 1);
              } else visit(resolveQualifier(q, inner), depth + 1);
              continue;
            }
            const n = figureName(rt.val);
            if (n) proof.names.push(n);
          }
        } finally {
          if (cte) cte.busy = false;
        }
        return;
      }
      case 'opaque':
        return;
    }
  };
  visit(rel, 0);
  return proof;
}

/** The CTE a select relation stands for, if any (to stop a recursive CTE from expanding itself). */
function findBusy(r: Extract<Rel, { kind: 'select' }>): Cte | null {
  for (let s: Scope | null = r.scope; s; s = s.parent)
    for (const c of s.ctes.values()) if (c.query === r.select) return c;
  return null;
}
