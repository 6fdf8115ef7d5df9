import { type KeyRing, needsRewrap, rewrap } from '@rampart/core/seal';
import type { Database } from '../db/database.js';
import { SEALED_COLUMNS, type SealedColumn } from '../db/sealed-columns.js';
import type { Queryable } from '../db/types.js';

export interface RotateProgress {
  column: string;
  done: number;
  total: number;
}

export interface RotateResult {
  rewrapped: number;
  columns: Array<{ column: string; rewrapped: number }>;
}

const BATCH = 200;

const ident = (s: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new TypeError(`unsafe identifier ${s}`);
  return `"${s}"`;
};

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

async function countStale(q: Queryable, c: SealedColumn, primaryId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${ident(c.table)} WHERE ${ident(c.column)} IS NOT NULL AND left(${ident(c.column)}, length($1)) <> $1`,
    [`v1.${primaryId}.`],
  );
  return rows[0]?.n ?? 0;
}

/** One batch: up to 200 stale rows, locked (skipping rows locked elsewhere), rewrapped compare-and-set. */
async function rewrapBatch(
  q: Queryable,
  ring: KeyRing,
  c: SealedColumn,
  name: string,
): Promise<{ selected: number; rewrapped: number }> {
  const orgSel = c.orgColumn ? `${ident(c.orgColumn)}::text` : 'NULL';
  const { rows } = await q.query<{ id: string; org: string | null; v: string }>(
    `SELECT ${ident(c.idColumn)}::text AS id, ${orgSel} AS org, ${ident(c.column)} AS v FROM ${ident(c.table)}
      WHERE ${ident(c.column)} IS NOT NULL AND left(${ident(c.column)}, length($1)) <> $1
      ORDER BY ${ident(c.idColumn)} LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
    [`v1.${ring.primaryId}.`],
  );
  let n = 0;
  for (const r of rows) {
    if (!needsRewrap(ring, r.v)) continue;
    let next: string;
    try {
      next = rewrap(ring, r.v, { orgId: r.org, table: c.table, column: c.column, rowId: r.id });
    } catch (err) {
      // Name the row, never the value: the operator must find it, the log must not hold it.
      throw new Error(`cannot rewrap ${name} row ${r.id}: ${(err as Error).message}`, { cause: err });
    }
    const upd = await q.query(
      `UPDATE ${ident(c.table)} SET ${ident(c.column)} = $1 WHERE ${ident(c.idColumn)}::text = $2 AND ${ident(c.column)} = $3`,
      [next, r.id, r.v],
    );
    n += upd.rowCount;
  }
  return { selected: rows.length, rewrapped: n };
}

/**
 * Re-seals every registered column under the key ring's primary key, in batches of 200 rows, each batch its
 * own transaction. Tenant columns are walked org by org inside `db.org` (RLS applies to the owner too, see
 * {@link scopesFor}); platform columns inside `db.platform`. Resumable by construction: a row already under
 * the primary key is never selected again, so an interrupted run simply continues; a row changed
 * concurrently is skipped by the compare-and-set update and picked up by the next batch.
 */
export async function rotateKeys(
  db: Database,
  ring: KeyRing,
  onProgress: (p: RotateProgress) => void = () => {},
): Promise<RotateResult> {
  const result: RotateResult = { rewrapped: 0, columns: [] };
  const orgIds = await db.orgIds();
  for (const c of SEALED_COLUMNS) {
    const name = `${c.table}.${c.column}`;
    const scopes = scopesFor(c, orgIds);
    let total = 0;
    for (const scope of scopes) total += await inScope(db, scope, (q) => countStale(q, c, ring.primaryId));
    let done = 0;
    onProgress({ column: name, done, total });
    for (const scope of scopes) {
      for (;;) {
        const changed = await inScope(db, scope, (q) => rewrapBatch(q, ring, c, name));
        done += changed.rewrapped;
        if (changed.selected > 0) onProgress({ column: name, done, total: Math.max(total, done) });
        if (changed.selected < BATCH) break;
      }
    }
    result.columns.push({ column: name, rewrapped: done });
    result.rewrapped += done;
  }
  return result;
}
