import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { testServerEnv } from '@rampart/testing';
import { createRampart, type Rampart } from '../src/app.js';
import type { Database } from '../src/db/database.js';
import { loadConfig } from '../src/platform/config.js';
import { MemoryMailer } from '../src/platform/mailer.js';

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

/**
 * A Rampart on a real PGlite data directory (not the in-memory snapshot), logging at trace level into `logs`.
 * Runs `fn` against its base URL, then closes it so PGlite flushes every file before the caller searches them.
 */
export async function withFileBackedServer<T>(
  dir: string,
  env: Record<string, string>,
  fn: (baseUrl: string, rampart: Rampart, mailer: MemoryMailer) => Promise<T>,
): Promise<{ result: T; logs: string[] }> {
  const logs: string[] = [];
  const mailer = new MemoryMailer();
  const rampart = await createRampart({
    config: loadConfig({
      ...testServerEnv('test1', dir),
      LOG_LEVEL: 'trace',
      RAMPART_JOB_RUNNER: 'off',
      ...env,
    }),
    mailer,
    logDestination: new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  });
  try {
    await rampart.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = rampart.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    return { result: await fn(`http://127.0.0.1:${addr.port}`, rampart, mailer), logs };
  } finally {
    await rampart.close(); // PGlite flushes its files on close
  }
}
