import { type KeyRing, needsRewrap, rewrap } from '@rampart/core/seal';
import type { Database } from '../db/database.js';
import { SEALED_COLUMNS, type SealedColumn } from '../db/sealed-columns.js';

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

async function countStale(db: Database, c: SealedColumn, primaryId: string): Promise<number> {
  const { rows } = await db.owner((q) =>
    q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${ident(c.table)} WHERE ${ident(c.column)} IS NOT NULL AND left(${ident(c.column)}, length($1)) <> $1`,
      [`v1.${primaryId}.`],
    ),
  );
  return rows[0]?.n ?? 0;
}

/**
 * Re-seals every registered column under the key ring's primary key, in batches of 200 rows, each batch its
 * own transaction. Resumable by construction: a row already under the primary key is never selected again,
 * so an interrupted run simply continues; a row changed concurrently is skipped by the compare-and-set update
 * and picked up by the next batch.
 */
export async function rotateKeys(
  db: Database,
  ring: KeyRing,
  onProgress: (p: RotateProgress) => void = () => {},
): Promise<RotateResult> {
  const result: RotateResult = { rewrapped: 0, columns: [] };
  for (const c of SEALED_COLUMNS) {
    const name = `${c.table}.${c.column}`;
    const total = await countStale(db, c, ring.primaryId);
    let done = 0;
    onProgress({ column: name, done, total });
    for (;;) {
      const changed = await db.owner(async (q) => {
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
      });
      done += changed.rewrapped;
      onProgress({ column: name, done, total: Math.max(total, done) });
      if (changed.selected < BATCH) break;
    }
    result.columns.push({ column: name, rewrapped: done });
    result.rewrapped += done;
  }
  return result;
}
