import type { SealContext } from '@rampart/core/seal';
import type { Database } from '../db/database.js';
import { SEALED_COLUMNS, type SealedColumn } from '../db/sealed-columns.js';
import type { Queryable } from '../db/types.js';

/**
 * The batch walk shared by the maintenance passes over sealed columns (key rotation, the plaintext backfill):
 * every registered column, org by org, in locked batches with compare-and-set updates and progress.
 */

export interface SealedProgress {
  /** `table.column` */
  column: string;
  done: number;
  total: number;
}

/** Rows per batch; each batch is its own transaction. */
export const BATCH = 200;

const ident = (s: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new TypeError(`unsafe identifier ${s}`);
  return `"${s}"`;
};

/** A stored value's replacement; `masked` fills the column's `maskedColumn` where that is NULL or empty. */
export interface Replacement {
  value: string;
  masked?: string;
}

/** One pass over the sealed columns: which rows it wants and what each becomes. */
export interface SealedPass {
  /** Names the failing step in errors: `cannot <verb> <table.column> row <id>: <reason>`. */
  verb: string;
  /**
   * SQL condition on the (quoted) column selecting the rows still to do; may use `$1`… from `params`. Rows
   * it selects must stop matching once replaced, or the walk would not end.
   */
  where(column: string): string;
  params: readonly unknown[];
  /** The replacement for one selected value, or null to leave it. Throws to stop the run. */
  next(value: string, ctx: SealContext): Replacement | null;
}

/** Where a column's rows are visible: one org's tenant context, or the platform context (no org). */
type Scope = { orgId: string } | { orgId: null };

function inScope<T>(db: Database, scope: Scope, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return scope.orgId === null ? db.platform(fn) : db.org(scope.orgId, fn);
}

/**
 * The contexts a column is walked in. Tenant tables have FORCE ROW LEVEL SECURITY, which binds the owner too:
 * a non-superuser owner without BYPASSRLS sees no row of them. So tenant columns are walked org by org in
 * that org's context (as the app role, under RLS), and platform columns (no RLS) in the platform context;
 * this works whether or not the connecting user could bypass RLS.
 */
function scopesFor(c: SealedColumn, orgIds: readonly string[]): Scope[] {
  return c.orgColumn ? orgIds.map((orgId) => ({ orgId })) : [{ orgId: null }];
}

const pending = (c: SealedColumn, pass: SealedPass) =>
  `${ident(c.column)} IS NOT NULL AND (${pass.where(ident(c.column))})`;

async function countPending(q: Queryable, c: SealedColumn, pass: SealedPass): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${ident(c.table)} WHERE ${pending(c, pass)}`,
    pass.params,
  );
  return rows[0]?.n ?? 0;
}

/** One batch: up to 200 pending rows, locked (skipping rows locked elsewhere), replaced compare-and-set. */
async function runBatch(
  q: Queryable,
  c: SealedColumn,
  name: string,
  pass: SealedPass,
): Promise<{ selected: number; changed: number }> {
  const orgSel = c.orgColumn ? `${ident(c.orgColumn)}::text` : 'NULL';
  const { rows } = await q.query<{ id: string; org: string | null; v: string }>(
    `SELECT ${ident(c.idColumn)}::text AS id, ${orgSel} AS org, ${ident(c.column)} AS v FROM ${ident(c.table)}
      WHERE ${pending(c, pass)} ORDER BY ${ident(c.idColumn)} LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
    pass.params,
  );
  let changed = 0;
  for (const r of rows) {
    let next: Replacement | null;
    try {
      next = pass.next(r.v, { orgId: r.org, table: c.table, column: c.column, rowId: r.id });
    } catch (err) {
      // Name the row, never the value: the operator must find it, the log must not hold it.
      throw new Error(`cannot ${pass.verb} ${name} row ${r.id}: ${(err as Error).message}`, { cause: err });
    }
    if (next === null) continue;
    // The mask column, when this replacement comes with a mask and the table has one: filled only if empty.
    const m = next.masked === undefined || !c.maskedColumn ? null : ident(c.maskedColumn);
    const upd = await q.query(
      `UPDATE ${ident(c.table)} SET ${ident(c.column)} = $1${m ? `, ${m} = coalesce(nullif(${m}, ''), $4)` : ''}
        WHERE ${ident(c.idColumn)}::text = $2 AND ${ident(c.column)} = $3`,
      m ? [next.value, r.id, r.v, next.masked] : [next.value, r.id, r.v],
    );
    changed += upd.rowCount;
  }
  return { selected: rows.length, changed };
}

/**
 * Runs `pass` over every registered sealed column, in batches of 200 rows, each batch its own transaction.
 * Tenant columns are walked org by org inside `db.org` (RLS applies to the owner too, see {@link scopesFor});
 * platform columns inside `db.platform`. Resumable by construction: a replaced row no longer matches
 * `pass.where`, so an interrupted run simply continues; a row changed concurrently is skipped by the
 * compare-and-set update and picked up by the next batch. Reports progress after every batch.
 *
 * @returns how many rows were replaced, per `table.column`, in registry order
 */
export async function walkSealedColumns(
  db: Database,
  pass: SealedPass,
  onProgress: (p: SealedProgress) => void,
): Promise<Array<{ column: string; changed: number }>> {
  const result: Array<{ column: string; changed: number }> = [];
  const orgIds = await db.orgIds();
  for (const c of SEALED_COLUMNS) {
    const name = `${c.table}.${c.column}`;
    const scopes = scopesFor(c, orgIds);
    let total = 0;
    for (const scope of scopes) total += await inScope(db, scope, (q) => countPending(q, c, pass));
    let done = 0;
    onProgress({ column: name, done, total });
    for (const scope of scopes) {
      for (;;) {
        const batch = await inScope(db, scope, (q) => runBatch(q, c, name, pass));
        done += batch.changed;
        if (batch.selected > 0) onProgress({ column: name, done, total: Math.max(total, done) });
        if (batch.selected < BATCH) break;
        // Rows left as they were would be selected again: stop rather than spin on a full batch of them.
        if (batch.changed === 0)
          throw new Error(`${name}: no row of a full batch could be changed (${pass.verb}); run again`);
      }
    }
    result.push({ column: name, changed: done });
  }
  return result;
}
