/**
 * Data directories for tests of the CLI and of servers on the embedded database. PGlite's initdb in a new
 * on-disk directory takes ~5 s of a busy 2-core machine in every process that opens one; a copy of the migrated
 * directory the global setup (test/global-setup.ts) builds once per run takes ~0.5 s and opens at once.
 *
 * Vitest only (it reads the template's path with `inject`), hence its own entry point: bench/ runs under tsx.
 * A test of a truly empty directory (first start, key generation, initdb, restore into an empty directory)
 * must keep using an empty one: at least one such test covers each of those paths.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * Puts an already migrated PGlite database into `<dir>/data` (the layout of RAMPART_DATA_DIR) and returns `dir`,
 * a new temporary directory unless given. No keys: `rampart start` still generates the development ones.
 */
export function migratedDataDir(dir: string = mkdtempSync(join(tmpdir(), 'rampart-migrated-'))): string {
  cpSync(inject('pgliteDataDir'), join(dir, 'data'), { recursive: true });
  return dir;
}
