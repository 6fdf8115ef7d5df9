// A Rampart instance for benchmarks: the configuration every bench starts it with, the engines to run on, and
// an instance listening on a local port with its own throwaway database.
import { createPgDatabase, type PgDatabase, send, testServerEnv } from '@rampart/testing';
import { createRampart, type Rampart } from '../../packages/server/src/app.js';
import type { EngineName } from '../../packages/server/src/db/types.js';
import { loadConfig } from '../../packages/server/src/platform/config.js';
import { MemoryMailer } from '../../packages/server/src/platform/mailer.js';
import type { LoadWorker } from './http-load.js';

/** The engines to measure: PGlite, and PostgreSQL when TEST_DATABASE_URL is set. */
export const benchEngines = (): EngineName[] => [
  'pglite',
  ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : []),
];

/** How the bench names the database an instance runs on. */
export const engineLabel = (pgDb: PgDatabase | undefined): string =>
  pgDb ? `PostgreSQL ${pgDb.version} (local server)` : 'PGlite (embedded, in-memory)';

/** A Rampart in process, with a memory mailer and settings of the bench's own on top of the common ones. */
export function createBenchRampart(env: Record<string, string>): Promise<Rampart> {
  return createRampart({
    config: loadConfig({
      ...testServerEnv('bench1', '/nonexistent-bench-never-writes-here'),
      LOG_LEVEL: 'silent',
      RAMPART_OUTBOUND_ALLOW: '127.0.0.1',
      ...env,
    }),
    mailer: new MemoryMailer(),
    ephemeral: {},
  });
}

export interface Listening {
  readonly engine: EngineName;
  readonly label: string;
  readonly rampart: Rampart;
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Starts Rampart on `engine` (PostgreSQL: a throwaway database on TEST_DATABASE_URL), listening on a local
 * port, and runs `setUp` on it; when that fails, everything is closed again.
 */
export async function startBenchRampart<T>(
  engine: EngineName,
  env: Record<string, string>,
  setUp: (listening: Listening) => Promise<T>,
): Promise<Listening & T> {
  const base = process.env.TEST_DATABASE_URL;
  const pgDb =
    engine === 'postgres' && base ? await createPgDatabase({ base, prefix: 'rampart_bench' }) : undefined;
  if (engine === 'postgres' && pgDb === undefined) throw new Error('TEST_DATABASE_URL is not set');
  let rampart: Rampart | undefined;
  try {
    rampart = await createBenchRampart({ ...env, ...(pgDb ? { DATABASE_URL: pgDb.url } : {}) });
    await rampart.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = rampart.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    const r = rampart;
    const listening: Listening = {
      engine,
      label: engineLabel(pgDb),
      rampart: r,
      origin: `http://127.0.0.1:${addr.port}`,
      close: async () => {
        await r.close();
        await pgDb?.drop();
      },
    };
    return { ...(await setUp(listening)), ...listening };
  } catch (err) {
    await rampart?.close();
    await pgDb?.drop();
    throw err;
  }
}

/** A JSON call to the instance's API; a status of 300 or above throws. */
export async function callJson(
  origin: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await send(origin, method, path, { body, headers });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

/**
 * Runs `measure` on a fresh instance of each engine in turn; after each, the load worker's connection pools
 * and the instance are closed.
 */
export async function forEachEngine<I extends { close(): Promise<void> }>(
  engines: readonly EngineName[],
  worker: LoadWorker,
  start: (engine: EngineName) => Promise<I>,
  measure: (inst: I, engine: EngineName) => Promise<void>,
): Promise<void> {
  for (const engine of engines) {
    const inst = await start(engine);
    try {
      await measure(inst, engine);
    } finally {
      await worker.closePools();
      await inst.close();
    }
  }
}
