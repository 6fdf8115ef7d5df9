import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openPglite } from '../packages/server/src/db/engine-pglite.js';
import { openPostgres } from '../packages/server/src/db/engine-postgres.js';
import { migrate } from '../packages/server/src/db/migrate.js';
import { createPgDatabase } from '../packages/testing/src/pg.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshot: string;
    /** A migrated on-disk PGlite directory (`<RAMPART_DATA_DIR>/data`) to copy: `@rampart/testing/datadir`. */
    pgliteDataDir: string;
    /** With TEST_DATABASE_URL: a migrated PostgreSQL database to copy (CREATE DATABASE … TEMPLATE); else ''. */
    pgTemplate: string;
  }
}

/**
 * Runs once per test run: prints which engines are covered (so a CI log says it plainly) and builds a
 * migrated PGlite snapshot that every test database starts from (~0.8 s instead of ~3 s per instance), and the
 * same database as an on-disk directory that tests of the CLI copy instead of running PGlite's initdb in every
 * process (~5 s each on a busy 2-core machine; a copy takes ~0.5 s), and a migrated PostgreSQL template database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const engines = ['pglite', ...(process.env.TEST_DATABASE_URL ? ['postgres'] : [])];
  const redis = process.env.REDIS_URL ? ` redis=${process.env.REDIS_URL}` : ' redis=off';
  process.stdout.write(`\n[rampart tests] database engines: ${engines.join(', ')}${redis}\n\n`);

  const engine = await openPglite();
  await migrate(engine);
  const blob = await engine.dump();
  await engine.close();
  const path = join(tmpdir(), `rampart-pglite-template-${process.pid}.tar`);
  writeFileSync(path, Buffer.from(await blob.arrayBuffer()));
  project.provide('pgliteSnapshot', path);

  const dataDirParent = mkdtempSync(join(tmpdir(), 'rampart-pglite-datadir-'));
  const dataDir = join(dataDirParent, 'data');
  const onDisk = await openPglite({ dataDir, loadDataDir: blob });
  await onDisk.close(); // a clean shutdown: the copies open without recovery, and no lock file is left
  project.provide('pgliteDataDir', dataDir);

  // The same for PostgreSQL: test servers and databases start from a copy of a migrated database (no connection
  // to it may stay open, or PostgreSQL refuses to copy it). Tests of migrating an empty database make their own.
  let dropTemplate = async () => {};
  if (process.env.TEST_DATABASE_URL) {
    const template = await createPgDatabase({ prefix: 'rampart_template' });
    const pg = await openPostgres({ connectionString: template.url });
    try {
      await migrate(pg);
    } finally {
      await pg.close();
    }
    project.provide('pgTemplate', new URL(template.url).pathname.slice(1));
    dropTemplate = () => template.drop();
  } else {
    project.provide('pgTemplate', '');
  }

  return async () => {
    rmSync(path, { force: true });
    rmSync(dataDirParent, { recursive: true, force: true });
    await dropTemplate();
  };
}
