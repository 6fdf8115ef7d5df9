/** Server-side test fixtures that read the database directly (the HTTP-level ones are in @rampart/testing). */
import type { Database } from '../src/db/database.js';

/**
 * The public tables in which some row, rendered as text, contains `needle` (read as the owner, past RLS).
 * For "this plaintext / this name is stored nowhere" checks that keep working as tables are added.
 */
export async function tablesContaining(db: Database, needle: string): Promise<string[]> {
  return db.owner(async (q) => {
    const { rows: tables } = await q.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const hits: string[] = [];
    for (const { table_name: t } of tables) {
      const { rows } = await q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${t}" x WHERE strpos(x::text, $1) > 0`,
        [needle],
      );
      if ((rows[0]?.n ?? 0) > 0) hits.push(t);
    }
    return hits;
  });
}
