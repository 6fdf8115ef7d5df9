import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openPglite } from '../packages/server/src/db/engine-pglite.js';
import { migrate } from '../packages/server/src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshot: string;
    /** A migrated on-disk PGlite directory (`<RAMPART_DATA_DIR>/data`) to copy: `@rampart/testing/datadir`. */
    pgliteDataDir: string;
  }
}

/**
 * Runs once per test run: prints which engines are covered (so a CI log says it plainly) and builds a
 * migrated PGlite snapshot that every test database starts from (~0.8 s instead of ~3 s per instance), and the
 * same database as an on-disk directory that tests of the CLI copy instead of running PGlite's initdb in every
 * process (~5 s each on a busy 2-core machine; a copy takes ~0.5 s).
 */
export default async function setup(project: TestProject): Promise<() => void> {
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

  return () => {
    rmSync(path, { force: true });
    rmSync(dataDirParent, { recursive: true, force: true });
  };
}
