// Running one bench module on its own (`node --import tsx bench/<name>/index.ts [--full]`): the section is
// printed rather than written to docs/PERFORMANCE.md.
import { pathToFileURL } from 'node:url';
import { machine } from './machine.js';
import { renderSection } from './markdown.js';
import type { BenchOptions, BenchRun } from './types.js';

/** When `moduleUrl` is the script node was started with, runs its section and prints it; failures exit 1. */
export async function runWhenMain(moduleUrl: string, run: BenchRun): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  const full = process.argv.includes('--full');
  const section = await run({ full });
  console.log(renderSection(section, machine(), full ? 'full' : 'quick'));
  for (const failure of section.failures) console.error(`FAIL: ${failure}`);
  process.exitCode = section.failures.length > 0 ? 1 : 0;
}

/** The command that runs a bench module on its own (`postgres`: with TEST_DATABASE_URL set). */
export const standaloneCommand = (file: string, opts: BenchOptions, postgres = false): string =>
  `${postgres ? 'TEST_DATABASE_URL=<postgres URL> ' : ''}node --import tsx ${file}${opts.full ? ' --full' : ''}`;

/** How a bench that runs on PGlite adds PostgreSQL. */
export const POSTGRES_HOW =
  'Set `TEST_DATABASE_URL` (a PostgreSQL server where the user may create databases) to add PostgreSQL; the ' +
  'bench creates a throwaway database and drops it.';
