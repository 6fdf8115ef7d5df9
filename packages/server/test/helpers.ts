import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { KeyRing } from '@rampart/core/seal';
import { createPgDatabase, freePort, type PgDatabase, testMasterKeys, testServerEnv } from '@rampart/testing';
import { inject } from 'vitest';
import { createRampart, type Rampart } from '../src/app.js';
import { Database } from '../src/db/database.js';
import { openPglite } from '../src/db/engine-pglite.js';
import { openPostgres } from '../src/db/engine-postgres.js';
import { migrate } from '../src/db/migrate.js';
import { assertSafeAppRole } from '../src/db/open.js';
import type { Engine, EngineName } from '../src/db/types.js';
import { type Config, loadConfig } from '../src/platform/config.js';
import type { App } from '../src/platform/http.js';
import { MemoryMailer } from '../src/platform/mailer.js';

/** PGlite always; real PostgreSQL too when TEST_DATABASE_URL is set. Storage suites run once per engine. */
export const ENGINES: EngineName[] = [
  'pglite',
  ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : []),
];

let snapshot: Blob | undefined;
function pgliteSnapshot(): Blob {
  snapshot ??= new Blob([readFileSync(inject('pgliteSnapshot'))]);
  return snapshot;
}

export interface TestDb {
  db: Database;
  /** Owner-level engine handle: for setting up tampering the app role cannot do. */
  engine: Engine;
  /** Set for PostgreSQL: the throwaway database's URL. */
  url?: string;
  close(): Promise<void>;
}

/** The global setup's migrated PostgreSQL database, copied by {@link createTestDb} and {@link startTestServer}. */
const pgTemplate = (): string | undefined => inject('pgTemplate') || undefined;

/** A fresh, migrated database on the given engine (migrate() still runs: it finds nothing to do). */
export async function createTestDb(engine: EngineName): Promise<TestDb> {
  if (engine === 'pglite') {
    const e = await openPglite({ loadDataDir: pgliteSnapshot() });
    return { db: new Database(e), engine: e, close: () => e.close() };
  }
  const { url, drop } = await createPgDatabase({ template: pgTemplate() });
  const e = await openPostgres({ connectionString: url, maxConnections: 20 });
  await migrate(e);
  await assertSafeAppRole(e);
  return {
    db: new Database(e),
    engine: e,
    url,
    close: async () => {
      await e.close();
      await drop();
    },
  };
}

export const testRing = (spec?: string): KeyRing => KeyRing.parse(spec ?? testMasterKeys());

export interface TestServer {
  rampart: Rampart;
  baseUrl: string;
  /** Every log line written, for grepping secrets out of them. */
  logs: string[];
  url?: string;
  close(): Promise<void>;
}

/**
 * A real Rampart listening on an ephemeral loopback port, on the given engine, with captured logs.
 * `env` overrides configuration variables; `routes` registers test-only routes before the server listens
 * (Fastify refuses new routes once it is listening).
 */
export async function startTestServer(
  engine: EngineName,
  env: Record<string, string> = {},
  routes?: (app: App) => void | Promise<void>,
  opts: { liveMailer?: boolean } = {},
): Promise<TestServer & { mailer: MemoryMailer }> {
  const mailer = new MemoryMailer();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  // The port is chosen before the server is built, so the default public URL (http://HOST:PORT) names this server,
  // as a deployment's public URL names itself: the dashboard's refresh endpoint answers that exact origin only.
  const port = env.PORT ?? String(await freePort());
  let pgDb: PgDatabase | undefined;
  // A given DATABASE_URL (a second node, an empty database to migrate) is used as it is.
  if (engine === 'postgres' && !env.DATABASE_URL) pgDb = await createPgDatabase({ template: pgTemplate() });
  const config: Config = loadConfig({
    ...testServerEnv(),
    LOG_LEVEL: 'info',
    // Many sign-ups come from one test address; identity-abuse-limits.test.ts pins the real limits.
    RAMPART_SIGNUP_PER_IP_PER_HOUR: '100000',
    RAMPART_FORGOT_PER_IP_PER_HOUR: '100000',
    // Job tests drive the runner with tick() at chosen times; jobs-runner tests start the real loop.
    RAMPART_JOB_RUNNER: 'off',
    // Audit sink tests turn delivery on; elsewhere a sink's example.com URL must not be contacted.
    RAMPART_AUDIT_SINK_WORKER: 'off',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    ...env,
    PORT: port,
  });
  const rampart = await createRampart({
    config,
    logDestination: destination,
    // A test that gives an SMTP URL (a local smtp-server sink) wants mail to leave over SMTP, not into memory.
    // So does one that sets the SMTP URL as a platform setting at run time (`liveMailer`).
    ...(env.RAMPART_SMTP_URL || opts.liveMailer ? {} : { mailer }),
    ephemeral: engine === 'pglite' ? { pgliteSnapshot: pgliteSnapshot() } : {},
  });
  try {
    await routes?.(rampart.app);
    await rampart.app.listen({ port: Number(port), host: '127.0.0.1' });
  } catch (err) {
    await rampart.close();
    await pgDb?.drop();
    throw err;
  }
  const addr = rampart.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return {
    rampart,
    mailer,
    baseUrl: `http://127.0.0.1:${addr.port}`,
    logs,
    ...(pgDb ? { url: pgDb.url } : env.DATABASE_URL ? { url: env.DATABASE_URL } : {}),
    close: async () => {
      await rampart.close();
      await pgDb?.drop();
    },
  };
}
