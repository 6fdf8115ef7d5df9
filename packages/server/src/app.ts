import type { KeyRing } from '@rampart/core/seal';
import type { DestinationStream, Logger } from 'pino';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import type { EngineName } from './db/types.js';
import type { Config } from './platform/config.js';
import { type App, createHttpServer } from './platform/http.js';
import { resolveKeyMaterial } from './platform/keys.js';
import { createLogger } from './platform/logger.js';

export const VERSION = '0.1.0';

/** Everything a request handler may need, passed explicitly (no hidden globals). */
export interface Services {
  config: Config;
  db: Database;
  ring: KeyRing;
  jwtSecret: Buffer;
  logger: Logger;
}

export interface Rampart {
  app: App;
  services: Services;
  engine: EngineName;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export interface CreateOptions {
  config: Config;
  /** Tests capture logs here. */
  logDestination?: DestinationStream;
  /** Tests: in-memory PGlite (nothing written to RAMPART_DATA_DIR), optionally from a migrated snapshot. */
  ephemeral?: { pgliteSnapshot?: Blob };
}

/**
 * Builds a ready-to-listen Rampart: key material, database (migrated, role checked), HTTP server with every
 * surface's routes. Does not listen; call `app.listen()`.
 * @throws ConfigError for missing production keys; Error for unsafe database roles
 */
export async function createRampart(opts: CreateOptions): Promise<Rampart> {
  const { config } = opts;
  const logger = createLogger({
    level: config.LOG_LEVEL ?? (config.NODE_ENV === 'test' ? 'silent' : 'info'),
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });
  const keys = resolveKeyMaterial(config);
  for (const w of keys.warnings) {
    logger.warn(`SECURITY WARNING: ${w}`);
    // Loud even when logs are quiet (LOG_LEVEL=error) or shipped elsewhere.
    if (config.NODE_ENV !== 'test') process.stderr.write(`\n  SECURITY WARNING: ${w}\n\n`);
  }

  const { db, migrations } = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: opts.ephemeral ? undefined : config.RAMPART_DATA_DIR,
    ...(opts.ephemeral?.pgliteSnapshot ? { pgliteSnapshot: opts.ephemeral.pgliteSnapshot } : {}),
  });
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'database migrations applied');

  const services: Services = { config, db, ring: keys.ring, jwtSecret: keys.jwtSecret, logger };
  let app: App;
  try {
    app = await createHttpServer({
      logger,
      bodyLimit: config.RAMPART_BODY_LIMIT_BYTES,
      requestTimeoutMs: config.RAMPART_REQUEST_TIMEOUT_MS,
      trustProxy: config.RAMPART_TRUST_PROXY,
      version: VERSION,
    });
    app.addHook('onClose', async () => {
      await db.close();
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  return { app, services, engine: db.engine, close: () => app.close() };
}
