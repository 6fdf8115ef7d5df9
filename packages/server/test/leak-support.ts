import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../src/db/database.js';

/** Every regular file under `dir`, recursively (a PGlite data directory, for byte searches). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Every row of every table, as JSON text, read as the owner (no row-level security in the way). */
export async function dumpTables(db: Database): Promise<{ tables: string[]; text: string }> {
  return db.owner(async (q) => {
    const { rows } = await q.query<{ s: string; t: string }>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    let text = '';
    for (const { s, t } of rows) {
      const dump = await q.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM "${s}"."${t}" x`);
      text += `${s}.${t}\n${dump.rows.map((r) => r.j).join('\n')}\n`;
    }
    return { tables: rows.map((r) => r.t), text };
  });
}
