/**
 * Mail tests run Rampart with its real SMTP transport (RAMPART_SMTP_URL pointing at @rampart/testing/smtp), unlike
 * startTestServer, which captures mail in memory. Helpers here start such a server (optionally on a database that
 * outlives it, for restarts), read the outbox, and dump every table to prove a secret is nowhere in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createPgDatabase, testMasterKeys, testServerEnv } from '@rampart/testing';
import { inject } from 'vitest';
import { createRampart, type Rampart } from '../src/app.js';
import type { Database } from '../src/db/database.js';
import { openPglite } from '../src/db/engine-pglite.js';
import type { EngineName } from '../src/db/types.js';
import { loadConfig } from '../src/platform/config.js';

export const MASTER_KEYS = testMasterKeys();

/** Fast outbox settings: retries within tens of milliseconds. */
export const FAST_MAIL = {
  RAMPART_MAIL_RETRY_BASE_MS: '20',
  RAMPART_MAIL_RETRY_MAX_MS: '80',
  RAMPART_MAIL_POLL_MS: '50',
  RAMPART_MAIL_MAX_ATTEMPTS: '3',
};

export interface MailServer {
  rampart: Rampart;
  baseUrl: string;
  db: Database;
  logs: string[];
  close(): Promise<void>;
}

/**
 * A Rampart on loopback whose mail goes out through RAMPART_SMTP_URL (no test mailer). `store` picks the
 * database: a PostgreSQL URL, a PGlite data directory (both survive `close`), or an in-memory PGlite.
 */
export async function startMailServer(
  env: Record<string, string>,
  store: { databaseUrl?: string; dataDir?: string } = {},
): Promise<MailServer> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const config = loadConfig({
    ...testServerEnv('test1', store.dataDir),
    LOG_LEVEL: 'info',
    RAMPART_SIGNUP_PER_IP_PER_HOUR: '100000',
    RAMPART_FORGOT_PER_IP_PER_HOUR: '100000',
    RAMPART_JOB_RUNNER: 'off',
    ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
    ...env,
  });
  const ephemeral =
    store.databaseUrl || store.dataDir
      ? undefined
      : { pgliteSnapshot: new Blob([readFileSync(inject('pgliteSnapshot'))]) };
  const rampart = await createRampart({
    config,
    logDestination: destination,
    ...(ephemeral ? { ephemeral } : {}),
  });
  try {
    await rampart.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await rampart.close();
    throw err;
  }
  const addr = rampart.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    rampart,
    baseUrl: `http://127.0.0.1:${addr.port}`,
    db: rampart.services.db,
    logs,
    close: () => rampart.close(),
  };
}

/** Per engine: where a restartable server keeps its data. */
export async function durableStore(
  engine: EngineName,
  dataDir: string,
): Promise<{ store: { databaseUrl?: string; dataDir?: string }; drop: () => Promise<void> }> {
  if (engine === 'postgres') {
    const d = await createPgDatabase();
    return { store: { databaseUrl: d.url }, drop: d.drop };
  }
  // Seed the directory from the migrated snapshot (a fresh on-disk migration costs seconds).
  const seed = await openPglite({
    dataDir: join(dataDir, 'data'),
    loadDataDir: new Blob([readFileSync(inject('pgliteSnapshot'))]),
  });
  await seed.close();
  return { store: { dataDir }, drop: async () => {} };
}

export interface OutboxRow {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  to_masked: string;
  last_error: string | null;
  has_body: boolean;
  org_id: string | null;
}

/** Outbox rows (owner view), newest last. */
export async function outbox(db: Database, where = 'true', params: unknown[] = []): Promise<OutboxRow[]> {
  return db.owner(async (q) => {
    const { rows } = await q.query<OutboxRow>(
      `SELECT id, kind, status, attempts, to_masked, last_error, payload_sealed IS NOT NULL AS has_body, org_id
         FROM mail_outbox WHERE ${where} ORDER BY created_at, id`,
      params,
    );
    return rows;
  });
}

/** Every row of every table in the public schema as text: for "this secret is nowhere in the database". */
export async function dumpAllTables(db: Database): Promise<string> {
  return db.owner(async (q) => {
    const { rows: tables } = await q.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
    );
    const out: string[] = [];
    for (const t of tables) {
      const { rows } = await q.query<{ r: string }>(`SELECT t::text AS r FROM "${t.tablename}" t`);
      out.push(...rows.map((r) => `${t.tablename}: ${r.r}`));
    }
    return out.join('\n');
  });
}
