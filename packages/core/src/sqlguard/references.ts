import { parseSync } from 'libpg-query';
import { ALLOWED_FUNCTIONS } from './policy.js';

/** A relation named in a FROM clause (or anywhere a RangeVar appears): schema as written, or null. */
export interface RelationRef {
  schema: string | null;
  name: string;
}

/**
 * What a statement names, read from PostgreSQL's own parse tree, for a policy that limits which relations and
 * columns a query may touch. Conservative by design: it does not resolve scopes, so callers treat every name as
 * possibly meaning every relation of the statement.
 */
export interface QueryReferences {
  /** Every RangeVar: tables, views, and CTE references (a CTE reference is also listed in `cteNames`). */
  relations: RelationRef[];
  /** Names of the statement's CTEs (WITH x AS ...), at any depth. */
  cteNames: string[];
  /** Relation names and aliases a whole-row reference could name. */
  rangeNames: string[];
  /** Every identifier that can name a column: ColumnRef fields, field selections, USING lists, output names. */
  identifiers: string[];
  /** A `*` or `x.*` or `(x).*` appears. */
  star: boolean;
  /** A ColumnRef whose last field names a relation or alias of the statement (a whole-row value). */
  wholeRow: boolean;
  /** Column aliases on a FROM item (`AS x(a, b)`), or a NATURAL join: both can rename or match columns unseen. */
  renamesColumns: boolean;
  /**
   * Field names (`x.f`, `s.t.f`, `(expr).f`) that are allowed functions: unless `f` is a column, PostgreSQL
   * runs `f(x)`, and `x.to_json` is the whole row `x` as json.
   */
  attributeCalls: string[];
}

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (n: unknown): string | null =>
  isObject(n) && isObject(n.String) ? String(n.String.sval ?? '') : null;

/**
 * Lists the relations and column names a statement refers to. Call `loadSqlGuard()` first (it loads the parser).
 * @throws Error when the statement does not parse (callers run {@link checkSelect} first).
 */
export function queryReferences(sql: string): QueryReferences {
  const tree = parseSync(sql) as unknown;
  const out: QueryReferences = {
    relations: [],
    cteNames: [],
    rangeNames: [],
    identifiers: [],
    star: false,
    wholeRow: false,
    renamesColumns: false,
    attributeCalls: [],
  };
  const lastFields: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const v = value as Node;
      switch (key) {
        case 'RangeVar':
          out.relations.push({
            schema: typeof v.schemaname === 'string' ? v.schemaname : null,
            name: String(v.relname ?? ''),
          });
          out.rangeNames.push(String(v.relname ?? ''));
          break;
        case 'Alias':
        case 'alias':
          if (isObject(v)) {
            if (typeof v.aliasname === 'string') out.rangeNames.push(v.aliasname);
            if (Array.isArray(v.colnames) && v.colnames.length) out.renamesColumns = true;
          }
          break;
        case 'CommonTableExpr':
          out.cteNames.push(String(v.ctename ?? ''));
          break;
        case 'A_Star':
          out.star = true;
          break;
        case 'ColumnRef': {
          const fields = Array.isArray(v.fields) ? v.fields : [];
          for (const f of fields) {
            const s = str(f);
            if (s !== null) out.identifiers.push(s);
          }
          const last = str(fields.at(-1));
          if (last !== null) lastFields.push(last);
          if (fields.length >= 2 && last !== null && ALLOWED_FUNCTIONS.has(last))
            out.attributeCalls.push(last);
          break;
        }
        case 'A_Indirection':
          for (const f of Array.isArray(v.indirection) ? v.indirection : []) {
            const s = str(f);
            if (s !== null) out.identifiers.push(s);
            if (s !== null && ALLOWED_FUNCTIONS.has(s)) out.attributeCalls.push(s);
          }
          break;
        case 'JoinExpr':
          if (v.isNatural) out.renamesColumns = true;
          for (const f of Array.isArray(v.usingClause) ? v.usingClause : []) {
            const s = str(f);
            if (s !== null) out.identifiers.push(s);
          }
          break;
        case 'ResTarget':
          if (typeof v.name === 'string') out.identifiers.push(v.name);
          break;
      }
      visit(value);
    }
  };
  visit(tree);
  const ranges = new Set(out.rangeNames);
  out.wholeRow = lastFields.some((f) => ranges.has(f));
  return out;
}
